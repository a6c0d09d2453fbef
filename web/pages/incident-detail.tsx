/**
 * One incident: identity, attempts per hour, names, miner logins, recent events, history; acknowledge
 * or resolve. A retro incident (found in the query history) is marked.
 */
import { api } from '../api.js';
import { TimeChart } from '../components/chart.js';
import { EventTable } from '../components/event-table.js';
import { IncidentChange } from '../components/incident-change.js';
import { MinerLoginTable } from '../components/miner-login-table.js';
import { RetroMark } from '../components/retro-mark.js';
import { Card, ErrorNote, HostLabel, IdentityDetails, Loading, Time } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { IncidentDetail } from '../types.js';

const HOUR_SEC = 3600;
/** At most this many hourly points are filled in; a longer incident shows its active hours only. */
const MAX_FILLED_HOURS = 24 * 90;

/** Every hour from the first (at least a day back from the last) to the last, zeros filled. */
function hourly(hours: IncidentDetail['hours']): { times: number[]; values: number[] } {
  const counts = new Map(hours.map((h) => [Date.parse(h.hour) / 1000, h.count]));
  const starts = [...counts.keys()];
  if (starts.length === 0) return { times: [], values: [] };
  const last = Math.max(...starts);
  const first = Math.min(Math.min(...starts), last - 23 * HOUR_SEC);
  if ((last - first) / HOUR_SEC > MAX_FILLED_HOURS)
    return { times: starts.sort((a, b) => a - b), values: starts.map((t) => counts.get(t) ?? 0) };
  const times: number[] = [];
  for (let t = first; t <= last; t += HOUR_SEC) times.push(t);
  return { times, values: times.map((t) => counts.get(t) ?? 0) };
}

export function IncidentDetailPage({ id }: { id: string }) {
  const detail = useLoad(() => api<IncidentDetail>(`/api/v1/incidents/${encodeURIComponent(id)}`), id, 10_000);
  const data = detail.data;
  return (
    <div class="page">
      <p>
        <a href="#/incidents">← Incidents</a>
      </p>
      <h1>Incident #{id}</h1>
      <ErrorNote error={detail.error} />
      <Loading when={data === undefined && detail.error === undefined} />
      {data === undefined ? null : (
        <>
          <div class="columns">
            <Card title="Summary">
              <dl class="facts">
                <div>
                  <dt>Host</dt>
                  <dd>
                    <HostLabel ip={data.incident.clientIp} identity={data.incident.identity} />
                  </dd>
                </div>
                <div>
                  <dt>State</dt>
                  <dd>
                    <span class={`state state-${data.incident.state}`} data-testid="incident-state">
                      {data.incident.state}
                    </span>
                  </dd>
                </div>
                <div>
                  <dt>Severity</dt>
                  <dd>
                    <span class={`sev sev-${data.incident.severity}`}>{data.incident.severity}</span>{' '}
                    <RetroMark retro={data.incident.retro} />
                  </dd>
                </div>
                <div>
                  <dt>Attempts</dt>
                  <dd>
                    {data.incident.attempts} ({data.incident.distinctNames} names)
                  </dd>
                </div>
                <div>
                  <dt>Lists</dt>
                  <dd>{data.incident.lists.join(', ')}</dd>
                </div>
                <div>
                  <dt>First seen</dt>
                  <dd>
                    <Time iso={data.incident.firstSeen} />
                  </dd>
                </div>
                <div>
                  <dt>Last seen</dt>
                  <dd>
                    <Time iso={data.incident.lastSeen} />
                  </dd>
                </div>
              </dl>
              <IncidentChange
                path={`/api/v1/incidents/${encodeURIComponent(id)}`}
                state={data.incident.state}
                onChanged={detail.reload}
              />
            </Card>
            <Card title="Host identity">
              <IdentityDetails identity={data.incident.identity} />
            </Card>
          </div>
          <Card title="Attempts per hour">
            <TimeChart
              title="Attempts per hour"
              times={hourly(data.hours).times}
              series={[{ label: 'attempts', values: hourly(data.hours).values }]}
              height={180}
            />
          </Card>
          <Card title="Names">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">List</th>
                  <th scope="col" class="num">
                    Attempts
                  </th>
                  <th scope="col">First</th>
                  <th scope="col">Last</th>
                </tr>
              </thead>
              <tbody>
                {data.names.map((n) => (
                  <tr key={`${n.qname}\u0000${n.list}`}>
                    <td class="mono wrap qname">{n.qname}</td>
                    <td>{n.list}</td>
                    <td class="num">{n.count}</td>
                    <td>
                      <Time iso={n.firstSeen} />
                    </td>
                    <td>
                      <Time iso={n.lastSeen} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Card>
          <Card title="Miner logins">
            <MinerLoginTable logins={data.minerLogins} />
          </Card>
          <Card title="Recent events">
            <EventTable events={data.recentEvents} />
          </Card>
          <Card title="State history">
            <ol class="history">
              {data.history.map((h) => (
                <li key={`${h.time}${h.change}`}>
                  <Time iso={h.time} /> <strong>{h.change}</strong> → {h.state} by {h.actor}
                  {h.note !== null && h.note !== '' ? <q class="note">{h.note}</q> : null}
                </li>
              ))}
            </ol>
          </Card>
        </>
      )}
    </div>
  );
}
