/**
 * SIGHUP for `poolsink serve`: a reload once the server runs; one that arrives while it still
 * starts is kept and carried out as soon as it has started (never lost, never the default
 * signal action that would end the process).
 */
export interface ReloadSignal {
  /** The signal arrived. */
  signal(): void;
  /** The server has started: `reload` serves every signal from now on (a kept one at once). */
  ready(reload: () => void): void;
}

export function createReloadSignal(onEarly: () => void): ReloadSignal {
  let reload: (() => void) | undefined;
  let pending = false;
  return {
    signal() {
      if (reload !== undefined) return reload();
      if (!pending) onEarly();
      pending = true;
    },
    ready(next) {
      reload = next;
      if (pending) {
        pending = false;
        next();
      }
    },
  };
}
