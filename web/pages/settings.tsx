/** Settings: the effective configuration (read-only, secrets masked by the API) and notification sinks. */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Card, ErrorNote, Time } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { NotifySink } from '../types.js';

export function SettingsPage() {
  const config = useLoad(() => api<{ config: unknown; masked: string[] }>('/api/v1/config'), 'config');
  const sinks = useLoad(() => api<{ sinks: NotifySink[] }>('/api/v1/notify'), 'sinks', 10_000);
  const [sent, setSent] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const test = async (name: string): Promise<void> => {
    setSent(undefined);
    setError(undefined);
    try {
      const { id } = await api<{ id: string }>(`/api/v1/notify/${encodeURIComponent(name)}/test`, { method: 'POST' });
      setSent(`Test message ${id} queued for ${name}`);
      sinks.reload();
    } catch (err: unknown) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <div class="page">
      <h1>Settings</h1>
      <Card title="Notification sinks">
        <p role="status">{sent ?? ''}</p>
        <ErrorNote error={error} />
        {sinks.error !== undefined ? <p class="muted">No notification sinks configured ({sinks.error}).</p> : null}
        {(sinks.data?.sinks.length ?? 0) > 0 ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Sink</th>
                <th scope="col">Type</th>
                <th scope="col" class="num">
                  Delivered
                </th>
                <th scope="col" class="num">
                  Failed
                </th>
                <th scope="col" class="num">
                  Queued
                </th>
                <th scope="col">Last success</th>
                <th scope="col">Last error</th>
                <th scope="col">Test</th>
              </tr>
            </thead>
            <tbody>
              {(sinks.data?.sinks ?? []).map((sink) => (
                <tr key={sink.name} class={sink.lastError !== null ? 'bad' : ''}>
                  <td>{sink.name}</td>
                  <td>{sink.type ?? '–'}</td>
                  <td class="num">{sink.delivered}</td>
                  <td class="num">{sink.failed}</td>
                  <td class="num">{sink.queueDepth}</td>
                  <td>
                    <Time iso={sink.lastSuccessAt} />
                  </td>
                  <td class="wrap">{sink.lastError ?? '–'}</td>
                  <td>
                    <button type="button" onClick={() => test(sink.name)} aria-label={`Send a test to ${sink.name}`}>
                      Send test
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Card>
      <Card title="Effective configuration">
        <ErrorNote error={config.error} />
        {config.data !== undefined ? (
          <>
            <p class="muted">
              Read-only. Secrets are shown as *** ({config.data.masked.length} masked
              {config.data.masked.length > 0 ? `: ${config.data.masked.join(', ')}` : ''}).
            </p>
            <ConfigTree value={config.data.config} />
          </>
        ) : null}
      </Card>
    </div>
  );
}

/** Nested keys and values as a definition list; every key and value is text. */
function ConfigTree({ value }: { value: unknown }) {
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="muted">[]</span>;
    if (value.every((item) => typeof item !== 'object' || item === null))
      return <span class="mono">{value.map((item) => JSON.stringify(item)).join(', ')}</span>;
    return (
      <ol class="tree">
        {value.map((item, i) => (
          <li key={i}>
            <ConfigTree value={item} />
          </li>
        ))}
      </ol>
    );
  }
  if (typeof value === 'object' && value !== null) {
    if (Object.keys(value).length === 0) return <span class="muted">{'{}'}</span>;
    return (
      <dl class="tree">
        {Object.entries(value).map(([key, item]) => (
          <div key={key}>
            <dt>{key}</dt>
            <dd>
              <ConfigTree value={item} />
            </dd>
          </div>
        ))}
      </dl>
    );
  }
  return <span class="mono">{value === undefined ? '–' : JSON.stringify(value)}</span>;
}
