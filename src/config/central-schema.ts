/**
 * `instance:` (this resolver's name in a fleet) and `central:` (the shared PostgreSQL of a fleet,
 * src/central/). Loaded into CentralConfig by central-config.ts.
 */
import { Type, type TSchema } from '@sinclair/typebox';

const SECRET = { secret: true } as const;

function section<P extends Record<string, TSchema>>(properties: P) {
  return Type.Object(properties, { additionalProperties: false, default: {} });
}

function int(minimum: number, maximum: number, defaultValue: number, description: string) {
  return Type.Integer({ minimum, maximum, default: defaultValue, description });
}

const path = Type.String({
  pattern: '^(?=.*\\S)[^\\u0000]+$',
  errorMessage: 'must be a non-empty path without NUL',
});

export const INSTANCE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';

export const InstanceSchema = section({
  /** Default: the machine's host name (load: central-config.ts). */
  name: Type.Optional(
    Type.String({
      pattern: INSTANCE_NAME_PATTERN,
      errorMessage: 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit',
      description: "This resolver's name in a fleet (the `instance` of its events); default the host name",
    }),
  ),
});

const PostgresSchema = Type.Object(
  {
    /** postgres://user@host:port/database; the password belongs in passwordFile. */
    url: Type.Optional(Type.String({ minLength: 1, ...SECRET })),
    urlFile: Type.Optional(path),
    passwordFile: Type.Optional(path),
    ssl: Type.Optional(
      Type.Object(
        {
          /** PEM bundle the server certificate must chain to (RDS, Cloud SQL, Azure CA). */
          caFile: Type.Optional(path),
          rejectUnauthorized: Type.Boolean({
            default: true,
            description: 'Refuse a server certificate that does not verify (leave on outside a lab)',
          }),
          servername: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    pool: section({
      max: int(1, 100, 4, 'PostgreSQL connections per instance at most (shipping, sync and API reads share them)'),
      idleTimeoutMs: int(1_000, 3_600_000, 30_000, 'An idle pooled connection is closed after this long'),
    }),
    connectTimeoutMs: int(100, 120_000, 5_000, 'A connection attempt fails after this long'),
    readTimeoutMs: int(
      100,
      600_000,
      5_000,
      'A fleet read of the admin API, CLI or dashboard not answered after this long (a migration, a lock, a busy server) answers from the local view; shipping is not bounded by it',
    ),
    shipIntervalMs: int(10, 600_000, 1_000, 'How often new local events are shipped to PostgreSQL'),
    batchSize: int(1, 50_000, 2_000, 'Events per shipping transaction at most'),
    syncIntervalMs: int(500, 3_600_000, 30_000, 'Periodic check of shared lists and allowlist (besides LISTEN)'),
    retentionDays: int(
      0,
      36_500,
      90,
      'Central events older than this many days are dropped, a whole UTC day at a time; 0 keeps them all',
    ),
  },
  { additionalProperties: false },
);

export const CentralSchema = section({
  postgres: Type.Optional(PostgresSchema),
});
