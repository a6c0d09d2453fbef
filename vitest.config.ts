import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Generous: these only bound a hung test; under a loaded CI machine a server start can take seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // test/unit: pure modules only (no filesystem, sockets, SQLite, child processes or threads).
    // test/integration: real sockets, SQLite, HTTP and the built command line (dist/, compiled first).
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
