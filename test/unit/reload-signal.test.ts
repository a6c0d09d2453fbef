import { expect, test } from 'vitest';
import { createReloadSignal } from '../../src/commands/reload-signal.js';

test('a SIGHUP during start is kept (one note, however many arrive) and carried out once started', () => {
  const notes: string[] = [];
  const reloads: string[] = [];
  const hangup = createReloadSignal(() => notes.push('early'));
  hangup.signal();
  hangup.signal();
  expect(notes).toEqual(['early']);
  expect(reloads).toEqual([]);
  hangup.ready(() => reloads.push('reload'));
  expect(reloads).toEqual(['reload']);
  hangup.signal();
  expect(reloads).toEqual(['reload', 'reload']);
});

test('without an early signal, ready alone reloads nothing', () => {
  const reloads: string[] = [];
  const hangup = createReloadSignal(() => undefined);
  hangup.ready(() => reloads.push('reload'));
  expect(reloads).toEqual([]);
  hangup.signal();
  expect(reloads).toEqual(['reload']);
});
