/** Incidents: a table filtered by state, severity and time, paged by the API's cursor. */
import { useState } from 'preact/hooks';
import { api, queryString } from '../api.js';
import { ErrorNote, HostLabel, Loading, Time } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { Incident, IncidentPage } from '../types.js';
import { Pager } from '../components/pager.js';
import { RetroMark } from '../components/retro-mark.js';

const PAGE = 50;

export function IncidentsPage({ initialState }: { initialState: string }) {
  const [state, setState] = useState(initialState);
  const [severity, setSeverity] = useState('');
  const [since, setSince] = useState('');
  const [pages, setPages] = useState<readonly string[]>([]);
  const cursor = pages.at(-1);
  const filter = { state, severity, since, limit: PAGE, cursor };
  const page = useLoad(
    () => api<IncidentPage>(`/api/v1/incidents${queryString(filter)}`),
    JSON.stringify(filter),
    10_000,
  );
  const changeFilter = (set: (value: string) => void) => (event: Event) => {
    if (event.currentTarget instanceof HTMLSelectElement || event.currentTarget instanceof HTMLInputElement) {
      set(event.currentTarget.value);
      setPages([]);
    }
  };

  return (
    <div class="page">
      <h1>Incidents</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select value={state} onChange={changeFilter(setState)}>
            <option value="">any</option>
            <option value="open">open</option>
            <option value="acknowledged">acknowledged</option>
            <option value="resolved">resolved</option>
          </select>
        </label>
        <label>
          Severity
          <select value={severity} onChange={changeFilter(setSeverity)}>
            <option value="">any</option>
            <option value="critical">critical</option>
            <option value="high">high</option>
            <option value="medium">medium</option>
            <option value="low">low</option>
          </select>
        </label>
        <label>
          Active since
          <select value={since} onChange={changeFilter(setSince)}>
            <option value="">any time</option>
            <option value="1h">1 h</option>
            <option value="24h">24 h</option>
            <option value="7d">7 d</option>
            <option value="30d">30 d</option>
          </select>
        </label>
      </form>
      <ErrorNote error={page.error} />
      <Loading when={page.data === undefined && page.error === undefined} />
      {page.data !== undefined ? <IncidentTable incidents={page.data.incidents} /> : null}
      <Pager pages={pages} setPages={setPages} next={page.data?.nextCursor} />
    </div>
  );
}

function IncidentTable({ incidents }: { incidents: readonly Incident[] }) {
  if (incidents.length === 0) return <p class="muted">No incidents match.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Incident</th>
          <th scope="col">Host</th>
          <th scope="col">State</th>
          <th scope="col">Severity</th>
          <th scope="col" class="num">
            Attempts
          </th>
          <th scope="col">Lists</th>
          <th scope="col">First seen</th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {incidents.map((incident) => (
          <tr key={incident.id}>
            <td>
              <a href={`#/incidents/${incident.id}`}>#{incident.id}</a> <RetroMark retro={incident.retro} />
            </td>
            <td>
              <HostLabel ip={incident.clientIp} identity={incident.identity} />
            </td>
            <td>
              <span class={`state state-${incident.state}`}>{incident.state}</span>
            </td>
            <td>
              <span class={`sev sev-${incident.severity}`}>{incident.severity}</span>
            </td>
            <td class="num">{incident.attempts}</td>
            <td>{incident.lists.join(', ')}</td>
            <td>
              <Time iso={incident.firstSeen} />
            </td>
            <td>
              <Time iso={incident.lastSeen} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
