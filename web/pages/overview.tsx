/** Overview: what an engineer watches during an incident; every panel re-reads every few seconds. */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { TimeChart, type ChartSeries } from '../components/chart.js';
import { Card, CountTable, ErrorNote, formatAge } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { HostView, IncidentPage, ListView, Stats } from '../types.js';
import { loadTimeseries, RANGES, type Range } from '../timeseries.js';

const POLL_MS = 5_000;
const MAX_COUNTED = 1000;
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

function atLeast(count: number): string {
  return count >= MAX_COUNTED ? `${MAX_COUNTED}+` : String(count);
}

export function OverviewPage() {
  const [range, setRange] = useState<Range>('24h');
  const stats = useLoad(() => api<Stats>('/api/v1/stats?since=24h&top=10'), 'stats', POLL_MS);
  const open = useLoad(() => api<IncidentPage>(`/api/v1/incidents?state=open&limit=${MAX_COUNTED}`), 'open', POLL_MS);
  const hosts = useLoad(() => api<{ hosts: HostView[] }>(`/api/v1/hosts?since=24h&limit=${MAX_COUNTED}`), 'h', POLL_MS);
  const lists = useLoad(() => api<{ lists: ListView[] }>('/api/v1/lists'), 'lists', POLL_MS);
  const series = useLoad(() => loadTimeseries(range), range, POLL_MS);

  const bySeverity = new Map<string, number>();
  for (const incident of open.data?.incidents ?? [])
    bySeverity.set(incident.severity, (bySeverity.get(incident.severity) ?? 0) + 1);
  const severities = [...SEVERITIES, ...[...bySeverity.keys()].filter((s) => !SEVERITIES.includes(s))];
  const writer = stats.data?.live.eventWriter;

  return (
    <div class="page">
      <h1>Overview</h1>
      <ErrorNote error={stats.error ?? open.error ?? hosts.error ?? lists.error} />
      <div class="tiles">
        <a class="tile" href="#/incidents?state=open">
          <span class="tile-label">Open incidents</span>
          <span class="tile-value" data-testid="open-incidents">
            {open.data === undefined ? '…' : atLeast(open.data.incidents.length)}
          </span>
          <span class="tile-detail">
            {severities
              .filter((s) => (bySeverity.get(s) ?? 0) > 0)
              .map((s) => (
                <span key={s} class={`sev sev-${s}`}>
                  {s} {bySeverity.get(s)}
                </span>
              ))}
          </span>
        </a>
        <a class="tile" href="#/hosts">
          <span class="tile-label">Hosts affected, 24 h</span>
          <span class="tile-value">{hosts.data === undefined ? '…' : atLeast(hosts.data.hosts.length)}</span>
        </a>
        <div class="tile">
          <span class="tile-label">Blocked, 24 h</span>
          <span class="tile-value">{stats.data?.outcomes['blocked'] ?? '…'}</span>
        </div>
        <div class={`tile ${writer !== undefined && (!writer.healthy || writer.dropped > 0) ? 'bad' : ''}`}>
          <span class="tile-label">Store</span>
          <span class="tile-value">{writer === undefined ? '…' : writer.healthy ? 'healthy' : 'failing'}</span>
          <span class="tile-detail">
            {writer === undefined
              ? ''
              : `${writer.dropped} dropped now, ${stats.data?.droppedEvents ?? 0} in 24 h, ${writer.buffered} buffered`}
          </span>
        </div>
      </div>

      <Card title="Blocked attempts by list">
        <fieldset class="range">
          <legend class="sr-only">Time range</legend>
          {RANGES.map((r) => (
            <button type="button" key={r} aria-pressed={r === range} onClick={() => setRange(r)}>
              {r}
            </button>
          ))}
        </fieldset>
        <ErrorNote error={series.error} />
        {series.data !== undefined ? (
          <TimeChart
            title={`Blocked attempts over ${range}, stacked by list`}
            times={series.data.times}
            series={series.data.series satisfies readonly ChartSeries[]}
            stacked
          />
        ) : null}
      </Card>

      <div class="columns">
        <Card title="Top pool names, 24 h">
          <CountTable
            label="Name"
            empty="No blocked names."
            rows={(stats.data?.topDomains ?? []).map((d) => ({ key: d.domain, count: d.count }))}
          />
        </Card>
        <Card title="Queries by outcome, 24 h">
          <CountTable
            label="Outcome"
            empty="No queries."
            rows={Object.entries(stats.data?.outcomes ?? {})
              .filter(([, count]) => count > 0)
              .map(([key, count]) => ({ key, count }))}
          />
        </Card>
      </div>

      <div class="columns">
        <Card title="Lists">
          <table>
            <thead>
              <tr>
                <th scope="col">List</th>
                <th scope="col" class="num">
                  Entries
                </th>
                <th scope="col">Age</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {(lists.data?.lists ?? []).map((list) => (
                <tr key={list.name} class={list.lastError !== null ? 'bad' : ''}>
                  <td>{list.name}</td>
                  <td class="num">{list.entries}</td>
                  <td>{formatAge(list.ageSec)}</td>
                  <td class="wrap">{list.lastError ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
        <Card title="Upstreams">
          <table>
            <thead>
              <tr>
                <th scope="col">Upstream</th>
                <th scope="col">State</th>
                <th scope="col">Last error</th>
              </tr>
            </thead>
            <tbody>
              {(stats.data?.live.upstreams ?? []).map((u) => (
                <tr key={u.upstream} class={u.consecutiveFailures > 0 ? 'bad' : ''}>
                  <td class="mono">{u.upstream}</td>
                  <td>{u.consecutiveFailures === 0 ? 'healthy' : `${u.consecutiveFailures} failures in a row`}</td>
                  <td class="wrap">{u.lastError ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      </div>
    </div>
  );
}
