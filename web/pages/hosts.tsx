/** Hosts that asked for blocked names: who they are, how often, which names; links to their events. */
import { useState } from 'preact/hooks';
import { api, download, queryString } from '../api.js';
import { ErrorNote, HostLabel, Loading, Time } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { HostView } from '../types.js';
import { Pager } from '../components/pager.js';
import { ExportButtons } from '../components/export-buttons.js';

export function HostsPage() {
  const [since, setSince] = useState('24h');
  const [pages, setPages] = useState<readonly string[]>([]);
  const [exportError, setExportError] = useState<string | undefined>(undefined);
  const cursor = pages.at(-1);
  const hosts = useLoad(
    () =>
      api<{ hosts: HostView[]; nextCursor: string | null }>(
        `/api/v1/hosts${queryString({ since, limit: 100, cursor })}`,
      ),
    JSON.stringify([since, cursor]),
    10_000,
  );
  const exportAs = async (format: 'csv' | 'ndjson'): Promise<void> => {
    setExportError(undefined);
    try {
      await download(`/api/v1/hosts${queryString({ since, format })}`, `poolsink-hosts.${format}`);
    } catch (err: unknown) {
      setExportError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <div class="page">
      <h1>Hosts</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Seen since
          <select
            value={since}
            onChange={(e) => {
              setSince(e.currentTarget.value);
              setPages([]);
            }}
          >
            <option value="1h">1 h</option>
            <option value="24h">24 h</option>
            <option value="7d">7 d</option>
            <option value="30d">30 d</option>
            <option value="">any time</option>
          </select>
        </label>
      </form>
      <ExportButtons exportAs={exportAs} />
      <ErrorNote error={exportError ?? hosts.error} />
      <Loading when={hosts.data === undefined && hosts.error === undefined} />
      {hosts.data?.hosts.length === 0 ? <p class="muted">No hosts match.</p> : null}
      {hosts.data !== undefined && hosts.data.hosts.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Host</th>
              <th scope="col" class="num">
                Blocked
              </th>
              <th scope="col" class="num">
                Names
              </th>
              <th scope="col">Top names</th>
              <th scope="col">Incident</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {hosts.data.hosts.map((host) => (
              <tr key={host.clientIp}>
                <td>
                  <a href={`#/events?client=${encodeURIComponent(host.clientIp)}`}>
                    <HostLabel ip={host.clientIp} identity={host.identity} />
                  </a>
                </td>
                <td class="num">{host.blockedCount}</td>
                <td class="num">{host.distinctDomains}</td>
                <td class="mono wrap qname">{host.topDomains.map((d) => d.domain).join(' ')}</td>
                <td>
                  {host.incidentId === null ? '–' : <a href={`#/incidents/${host.incidentId}`}>#{host.incidentId}</a>}
                </td>
                <td>
                  <Time iso={host.lastSeen} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <Pager pages={pages} setPages={setPages} next={hosts.data?.nextCursor} />
    </div>
  );
}
