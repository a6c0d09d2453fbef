/**
 * Acknowledge or resolve an incident with a note: a local one (`/api/v1/incidents/{id}`) on its
 * page, a fleet one (`/api/v1/fleet/incidents/{id}`, every instance sees it) on the Fleet page.
 */
import { useState } from 'preact/hooks';
import { send } from '../api.js';
import { ErrorNote } from './ui.js';

export function IncidentChange({
  path,
  state,
  onChanged,
}: {
  /** The incident's API path; the change POSTs to `${path}/acknowledge` or `${path}/resolve`. */
  path: string;
  state: string;
  onChanged: () => void;
}) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  if (state === 'resolved') return null;
  const change = async (verb: 'acknowledge' | 'resolve'): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await send(`${path}/${verb}`, { method: 'POST', body: { note } });
      setNote('');
      onChanged();
    } catch (err: unknown) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="change" onSubmit={(e) => e.preventDefault()}>
      <label>
        Note
        <input value={note} required maxLength={1000} onInput={(e) => setNote(e.currentTarget.value)} />
      </label>
      {state === 'open' ? (
        <button type="button" disabled={busy || note.trim() === ''} onClick={() => change('acknowledge')}>
          Acknowledge
        </button>
      ) : null}
      <button type="button" disabled={busy || note.trim() === ''} onClick={() => change('resolve')}>
        Resolve
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
