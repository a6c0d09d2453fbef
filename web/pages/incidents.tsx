/** Incidents: a table filtered by state, severity and time, paged by the API's cursor. */
import { useState } from 'preact/hooks';
import { api, queryString } from '../api.js';
import { IncidentTable } from '../components/incident-table.js';
import { ErrorNote, Loading } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { IncidentPage } from '../types.js';
import { Pager } from '../components/pager.js';

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
      {page.data !== undefined ? (
        <IncidentTable
          incidents={page.data.incidents}
          empty="No incidents match."
          showLists
          href={(incident) => `#/incidents/${incident.id}`}
        />
      ) : null}
      <Pager pages={pages} setPages={setPages} next={page.data?.nextCursor} />
    </div>
  );
}
