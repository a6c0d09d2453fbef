/** The allowlist: configuration entries (read-only) and runtime ones (add, remove). */
import { useState } from 'preact/hooks';
import { api, send } from '../api.js';
import { Card, ErrorNote } from '../components/ui.js';
import { useLoad } from '../hooks.js';

interface AllowlistEntry {
  readonly domain: string;
  readonly origin: string;
}

export function AllowlistCard() {
  const entries = useLoad(() => api<{ entries: AllowlistEntry[] }>('/api/v1/allowlist'), 'allowlist');
  const [domain, setDomain] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const change = async (work: () => Promise<void>): Promise<void> => {
    setError(undefined);
    try {
      await work();
    } catch (err: unknown) {
      setError(err instanceof Error ? err.message : String(err));
    }
    entries.reload();
  };
  return (
    <Card title="Allowlist">
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          change(async () => {
            await send('/api/v1/allowlist', { method: 'POST', body: { domain } });
            setDomain('');
          });
        }}
      >
        <label>
          Allow name (and subdomains)
          <input value={domain} required onInput={(e) => setDomain(e.currentTarget.value)} />
        </label>
        <button type="submit">Allow</button>
      </form>
      <ErrorNote error={error ?? entries.error} />
      {entries.data?.entries.length === 0 ? <p class="muted">The allowlist is empty.</p> : null}
      <ul class="entries">
        {(entries.data?.entries ?? []).map((entry) => (
          <li key={entry.domain}>
            <span class="mono">{entry.domain}</span> <span class="muted">({entry.origin})</span>{' '}
            {entry.origin === 'runtime' ? (
              <button
                type="button"
                aria-label={`Remove ${entry.domain} from the allowlist`}
                onClick={() =>
                  change(() =>
                    send(`/api/v1/allowlist?domain=${encodeURIComponent(entry.domain)}`, { method: 'DELETE' }),
                  )
                }
              >
                Remove
              </button>
            ) : null}
          </li>
        ))}
      </ul>
    </Card>
  );
}
