/**
 * Fleet: every instance's view from PostgreSQL (issue 15): the instances and how far each has
 * shipped, fleet incidents (acknowledge / resolve reach every instance), hosts per instance, miner
 * logins and block events with an Instance column, one instance filter for all, keyset pages.
 * When PostgreSQL is unreachable the hosts, logins and events are this instance's own, under a
 * banner saying so. Names, wallets and agents come raw from the API (any byte): rendered as text
 * by the same tables as the Events, Incidents and incident pages.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, queryString } from '../api.js';
import { EventTable } from '../components/event-table.js';
import { IncidentChange } from '../components/incident-change.js';
import { IncidentTable } from '../components/incident-table.js';
import { MinerLoginTable } from '../components/miner-login-table.js';
import { Pager } from '../components/pager.js';
import { Card, ErrorNote, Loading } from '../components/ui.js';
import type {
  FleetEventPage,
  FleetFallback,
  FleetHosts,
  FleetIncidents,
  FleetInstances,
  FleetMinerLoginPage,
  FleetSource,
} from '../fleet-types.js';
import { useLoad, type Loaded } from '../hooks.js';
import { FleetHostTable, InstanceTable } from './fleet-tables.js';

const PAGE = 50;
const POLL_MS = 10_000;

interface FleetRead {
  readonly source: FleetSource;
  readonly fallback?: FleetFallback;
}

/** The Local-view banner: shown whenever a fleet read answered from this instance alone, saying why. */
function LocalBanner({ reads }: { reads: readonly (FleetRead | undefined)[] }) {
  const local = reads.filter((read) => read?.source === 'local');
  if (local.length === 0) return null;
  const timedOut = local.find((read) => read?.fallback?.kind === 'timeout');
  return (
    <p class="banner" role="status" data-testid="fleet-local" title={timedOut?.fallback?.reason}>
      {timedOut !== undefined
        ? 'Local view: PostgreSQL did not answer in time (central.postgres.readTimeoutMs).'
        : 'Local view: PostgreSQL unreachable.'}{' '}
      Only this instance's hosts, miner logins and events are shown.
    </p>
  );
}

/** A keyset-paged fleet read: its pages' cursors, reset when the instance filter changes. */
function usePagedFleet<T>(path: string, instance: string): Loaded<T> & { pager: PagerState } {
  const [paging, setPaging] = useState<{ instance: string; pages: readonly string[] }>({ instance, pages: [] });
  const pages = paging.instance === instance ? paging.pages : [];
  const cursor = pages.at(-1);
  const loaded = useLoad(
    () => api<T>(`${path}${queryString({ instance, limit: PAGE, cursor })}`),
    JSON.stringify([instance, cursor]),
    POLL_MS,
  );
  return { ...loaded, pager: { pages, setPages: (next) => setPaging({ instance, pages: next }) } };
}

interface PagerState {
  readonly pages: readonly string[];
  setPages(pages: readonly string[]): void;
}

export function FleetPage() {
  const instances = useLoad(() => api<FleetInstances>('/api/v1/fleet/instances'), 'instances', POLL_MS);
  const [instance, setInstance] = useState('');
  const events = usePagedFleet<FleetEventPage>('/api/v1/fleet/events', instance);
  const logins = usePagedFleet<FleetMinerLoginPage>('/api/v1/fleet/miner-logins', instance);
  const hosts = usePagedFleet<FleetHosts>('/api/v1/fleet/hosts', instance);
  const incidents = useLoad(
    () => api<FleetIncidents>(`/api/v1/fleet/incidents${queryString({ instance, limit: PAGE })}`),
    instance,
    POLL_MS,
  );
  const names = instances.data?.instances.map((i) => i.name) ?? [];
  return (
    <div class="page">
      <h1>Fleet</h1>
      <LocalBanner reads={[events.data, hosts.data, logins.data]} />
      <Card title="Instances">
        <ErrorNote error={instances.error} />
        <Loading when={instances.data === undefined && instances.error === undefined} />
        {instances.data !== undefined ? <InstanceTable data={instances.data} /> : null}
      </Card>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Instance
          <select name="instance" value={instance} onChange={(e) => setInstance(e.currentTarget.value)}>
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
        {incidents.data !== undefined ? (
          <IncidentTable
            incidents={incidents.data.incidents}
            empty="No fleet incidents."
            showInstances
            testId="fleet-incidents"
            actions={(incident) => (
              <IncidentChange
                path={`/api/v1/fleet/incidents/${incident.id}`}
                state={incident.state}
                onChanged={incidents.reload}
              />
            )}
          />
        ) : null}
      </Card>
      <Card title="Fleet hosts">
        <ErrorNote error={hosts.error} />
        <Loading when={hosts.data === undefined && hosts.error === undefined} />
        {hosts.data !== undefined ? <FleetHostTable hosts={hosts.data.hosts} /> : null}
        <Pager {...hosts.pager} next={hosts.data?.nextCursor} />
      </Card>
      <Card title="Fleet miner logins">
        <ErrorNote error={logins.error} />
        <Loading when={logins.data === undefined && logins.error === undefined} />
        {logins.data !== undefined ? (
          <MinerLoginTable logins={logins.data.logins} showInstance showHost testId="fleet-logins" />
        ) : null}
        <Pager {...logins.pager} next={logins.data?.nextCursor} />
      </Card>
      <Card title="Fleet events">
        <ErrorNote error={events.error} />
        <Loading when={events.data === undefined && events.error === undefined} />
        {events.data !== undefined ? (
          <EventTable events={events.data.events} showInstance testId="fleet-events" />
        ) : null}
        <Pager {...events.pager} next={events.data?.nextCursor} />
      </Card>
    </div>
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
