/**
 * Fleet: every instance's view from PostgreSQL (issue 15): the instances and how far each has
 * shipped, block events with an Instance column and filter (keyset pages), and fleet incidents.
 * When PostgreSQL is unreachable the events are this instance's own, under a banner saying so.
 * Names come raw from the API (any byte) and are rendered as text only.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, queryString } from '../api.js';
import { Pager } from '../components/pager.js';
import { Card, ErrorNote, HostLabel, Loading, Time } from '../components/ui.js';
import type {
  FleetEvent,
  FleetEventPage,
  FleetIncident,
  FleetIncidents,
  FleetInstances,
  FleetSource,
} from '../fleet-types.js';
import { useLoad } from '../hooks.js';

const PAGE = 50;
const POLL_MS = 10_000;

/** The Local-view banner: shown whenever a fleet read answered from this instance alone. */
function LocalBanner({ source }: { source: FleetSource | undefined }) {
  if (source !== 'local') return null;
  return (
    <p class="banner" role="status" data-testid="fleet-local">
      Local view: PostgreSQL unreachable. Only this instance's events are shown.
    </p>
  );
}

export function FleetPage() {
  const instances = useLoad(() => api<FleetInstances>('/api/v1/fleet/instances'), 'instances', POLL_MS);
  const [instance, setInstance] = useState('');
  const [pages, setPages] = useState<readonly string[]>([]);
  const cursor = pages.at(-1);
  const events = useLoad(
    () => api<FleetEventPage>(`/api/v1/fleet/events${queryString({ instance, limit: PAGE, cursor })}`),
    JSON.stringify([instance, cursor]),
    POLL_MS,
  );
  const incidents = useLoad(
    () => api<FleetIncidents>(`/api/v1/fleet/incidents${queryString({ instance, limit: PAGE })}`),
    instance,
    POLL_MS,
  );
  const names = instances.data?.instances.map((i) => i.name) ?? [];
  return (
    <div class="page">
      <h1>Fleet</h1>
      <LocalBanner source={events.data?.source} />
      <Card title="Instances">
        <ErrorNote error={instances.error} />
        <Loading when={instances.data === undefined && instances.error === undefined} />
        {instances.data !== undefined ? <InstanceTable data={instances.data} /> : null}
      </Card>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Instance
          <select
            name="instance"
            value={instance}
            onChange={(e) => {
              setInstance(e.currentTarget.value);
              setPages([]);
            }}
          >
            <option value="">all</option>
            {names.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </form>
      <Card title="Fleet incidents">
        <ErrorNote
          error={
            incidents.error !== undefined && incidents.data === undefined
              ? `Fleet incidents need PostgreSQL: ${incidents.error}`
              : incidents.error
          }
        />
        {incidents.data !== undefined ? <FleetIncidentTable incidents={incidents.data.incidents} /> : null}
      </Card>
      <Card title="Fleet events">
        <ErrorNote error={events.error} />
        <Loading when={events.data === undefined && events.error === undefined} />
        {events.data !== undefined ? <FleetEventTable events={events.data.events} /> : null}
        <Pager pages={pages} setPages={setPages} next={events.data?.nextCursor} />
      </Card>
    </div>
  );
}

function InstanceTable({ data }: { data: FleetInstances }) {
  if (data.instances.length === 0) return <p class="muted">No instance has shipped yet.</p>;
  return (
    <table data-testid="fleet-instances">
      <thead>
        <tr>
          <th scope="col">Instance</th>
          <th scope="col">Last shipped</th>
          <th scope="col" class="num">
            Shipped events
          </th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {data.instances.map((i) => (
          <tr key={i.name}>
            <td class="instance">
              {i.name}
              {i.name === data.instance ? <span class="muted"> (this one)</span> : null}
            </td>
            <td>
              <Time iso={i.lastShipped} />
            </td>
            <td class="num">{i.shippedEvents}</td>
            <td>
              <Time iso={i.seen} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FleetEventTable({ events }: { events: readonly FleetEvent[] }) {
  if (events.length === 0) return <p class="muted">No events match.</p>;
  return (
    <table data-testid="fleet-events">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Instance</th>
          <th scope="col">Host</th>
          <th scope="col">Name</th>
          <th scope="col">List</th>
          <th scope="col">Action</th>
          <th scope="col" class="num">
            Count
          </th>
        </tr>
      </thead>
      <tbody>
        {events.map((event) => (
          <tr key={`${event.instance} ${event.id}`}>
            <td>
              <Time iso={event.time} />
            </td>
            <td class="instance">{event.instance}</td>
            <td>
              <HostLabel ip={event.clientIp} identity={event.identity} />
            </td>
            <td class="mono wrap qname">{event.qname}</td>
            <td>{event.list}</td>
            <td>{event.action}</td>
            <td class="num">{event.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FleetIncidentTable({ incidents }: { incidents: readonly FleetIncident[] }) {
  if (incidents.length === 0) return <p class="muted">No fleet incidents.</p>;
  return (
    <table data-testid="fleet-incidents">
      <thead>
        <tr>
          <th scope="col">Incident</th>
          <th scope="col">Host</th>
          <th scope="col">Instances</th>
          <th scope="col">State</th>
          <th scope="col">Severity</th>
          <th scope="col" class="num">
            Attempts
          </th>
          <th scope="col">First seen</th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {incidents.map((incident) => (
          <tr key={incident.id}>
            <td>#{incident.id}</td>
            <td>
              <HostLabel ip={incident.clientIp} identity={incident.identity} />
            </td>
            <td class="instances">{incident.instances.join(', ')}</td>
            <td>
              <span class={`state state-${incident.state}`}>{incident.state}</span>
            </td>
            <td>
              <span class={`sev sev-${incident.severity}`}>{incident.severity}</span>
            </td>
            <td class="num">{incident.attempts}</td>
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

/** Whether this instance is a fleet member: /fleet routes exist (404 without central.postgres). */
export async function fleetConfigured(): Promise<boolean> {
  try {
    await api<FleetInstances>('/api/v1/fleet/instances');
    return true;
  } catch (err: unknown) {
    // 503: a member whose PostgreSQL is down right now; the page then shows the local view.
    if (err instanceof ApiError && err.status === 503) return true;
    return false;
  }
}
