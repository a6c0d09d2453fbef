import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { TimeChart } from '../components/chart.js';
import { Card, CountTable, ErrorNote, formatAge } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { Overview } from '../types.js';
import { loadTimeseries, RANGES, type Range } from '../timeseries.js';

const POLL_MS = 5_000;
const SEVERITIES = ['critical', 'high', 'medium', 'low'];

export function OverviewPage() {
  const [range, setRange] = useState<Range>('24h');
  const overview = useLoad(() => api<Overview>('/api/v1/overview?top=10'), 'overview', POLL_MS);
  const series = useLoad(() => loadTimeseries(range), range, POLL_MS);
  const data = overview.data;
  const bySeverity = data?.incidents.openBySeverity ?? {};
  const store = data?.store;

  return (
    <div class="page">
      <h1>Overview</h1>
      <ErrorNote error={overview.error} />
      <div class="tiles">
        <a class="tile" href="#/incidents?state=open">
          <span class="tile-label">Open incidents</span>
          <span class="tile-value" data-testid="open-incidents">
            {data === undefined ? '…' : data.incidents.open}
          </span>
          <span class="tile-detail">
            {SEVERITIES.filter((s) => (bySeverity[s] ?? 0) > 0).map((s) => (
              <span key={s} class={`sev sev-${s}`}>
                {s} {bySeverity[s]}
              </span>
            ))}
            {data !== undefined && data.incidents.acknowledged > 0 ? (
              <span>{data.incidents.acknowledged} acknowledged</span>
            ) : null}
          </span>
        </a>
        <a class="tile" href="#/hosts">
          <span class="tile-label">Hosts affected, 24 h</span>
          <span class="tile-value">{data?.hostsAffected24h ?? '…'}</span>
        </a>
        <div class="tile">
          <span class="tile-label">Blocked, 24 h</span>
          <span class="tile-value">{data === undefined ? '…' : (data.outcomes.last24h['blocked'] ?? 0)}</span>
        </div>
        <div class={`tile ${store !== undefined && (!store.healthy || store.dropped > 0) ? 'bad' : ''}`}>
          <span class="tile-label">Store</span>
          <span class="tile-value">{store === undefined ? '…' : store.healthy ? 'healthy' : 'failing'}</span>
          <span class="tile-detail">
            {store === undefined
              ? ''
              : `${store.dropped} dropped since start, ${store.droppedLast24h} in 24 h, ${store.buffered} buffered`}
          </span>
          {store?.lastError !== undefined ? <span class="tile-detail wrap">{store.lastError}</span> : null}
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
            series={series.data.series}
            stacked
          />
        ) : null}
      </Card>

      <div class="columns">
        <Card title="Top pool names, 24 h">
          <CountTable
            label="Name"
            empty="No blocked names."
            rows={(data?.topNames ?? []).map((n) => ({ key: n.name, count: n.count }))}
          />
        </Card>
        <Card title="Queries by outcome, 24 h">
          <CountTable
            label="Outcome"
            empty="No queries."
            rows={Object.entries(data?.outcomes.last24h ?? {})
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
              {(data?.lists ?? []).map((list) => (
                <tr key={list.name} class={list.ok ? '' : 'bad'}>
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
              {(data?.upstreams ?? []).map((u) => (
                <tr key={u.upstream} class={u.healthy ? '' : 'bad'}>
                  <td class="mono">{u.upstream}</td>
                  <td>
                    {u.healthy ? 'healthy' : 'down'}
                    {u.consecutiveFailures > 0 ? ` (${u.consecutiveFailures} failures in a row)` : ''}
                  </td>
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
