/** Small state hooks: a polled or one-off API read, and the hash route. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  /** Reads again now (after a change). */
  reload(): void;
}

/**
 * Runs `load` now and whenever `key` changes, and every `everyMs` if given (live pages). A failed
 * read keeps the last data and shows the error; the next success clears it.
 */
export function useLoad<T>(load: () => Promise<T>, key: string, everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = (): void => {
      loadRef
        .current()
        .then(
          (value) => {
            if (!live) return;
            setData(value);
            setError(undefined);
          },
          (err: unknown) => {
            if (live) setError(err instanceof Error ? err.message : String(err));
          },
        )
        .finally(() => {
          if (live && everyMs !== undefined) timer = setTimeout(run, everyMs);
        });
    };
    run();
    return () => {
      live = false;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [key, tick, everyMs]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}

/** The part of the URL after `#`, e.g. `/incidents/3`; `/` when empty. */
export function useHashRoute(): string {
  const read = (): string => decodeURIComponent(location.hash.replace(/^#/, '')) || '/';
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = (): void => setRoute(read());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}
