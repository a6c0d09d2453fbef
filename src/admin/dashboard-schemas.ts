/**
 * The dashboard routes' response shapes (routes-dashboard.ts) as TypeBox schemas: the handlers'
 * views are typed by them (Static<>) and the OpenAPI document embeds them as components, so the
 * document and the answers cannot drift apart. docs/dashboard-api.md describes them with examples.
 */
import { Type, type Static } from '@sinclair/typebox';
import { stringEnum } from '../config/schema-types.js';
import { INCIDENT_STATES, SEVERITIES } from '../incidents/incident-state.js';
import { TIMESERIES_RANGES } from '../store/dashboard-query.js';

const time = Type.String({ format: 'date-time' });
const counts = (description: string) => Type.Record(Type.String(), Type.Integer(), { description });

export const TimeseriesSchema = Type.Object({
  range: stringEnum(TIMESERIES_RANGES),
  bucketSeconds: Type.Integer({ description: '3600 (24h), 21600 (7d) or 86400 (30d)' }),
  from: Type.String({ format: 'date-time', description: 'Start of the first bucket (inclusive)' }),
  to: Type.String({
    format: 'date-time',
    description: 'End of the last bucket (exclusive); the last bucket holds now',
  }),
  lists: Type.Array(Type.String(), { description: 'Every list with attempts in the range, most first' }),
  buckets: Type.Array(
    Type.Object({
      start: time,
      total: Type.Integer({ description: 'Blocked and alerted queries' }),
      byList: counts('Attempts per list; lists without any are absent'),
      outcomes: Type.Optional(
        counts('Query outcomes (forwarded, cached, blocked, ...) in the bucket; only with outcomes=true'),
      ),
    }),
    { description: 'Every bucket of the range, oldest first, zeros filled' },
  ),
});
export type TimeseriesView = Static<typeof TimeseriesSchema>;

const ref = (name: string) => Type.Unsafe<Record<string, unknown>>({ $ref: `#/components/schemas/${name}` });

/** A list as GET /lists shows it, plus `ok`. */
const ListHealthSchema = Type.Intersect([
  ref('ListInfo'),
  Type.Object({ ok: Type.Boolean({ description: 'No error at the last fetch or read' }) }),
]);

/** An upstream as the pool reports it, plus `healthy`. */
const UpstreamHealthSchema = Type.Object({
  upstream: Type.String({ description: 'host:port' }),
  healthy: Type.Boolean({ description: 'Fewer consecutive failures than the failover threshold' }),
  consecutiveFailures: Type.Integer(),
  failures: counts('Failed attempts since start, by reason'),
  lastError: Type.Optional(Type.String()),
});

export const OverviewSchema = Type.Object({
  generated: time,
  since: Type.String({ format: 'date-time', description: 'Start of the 24 h window of the windowed parts' }),
  incidents: Type.Object({
    open: Type.Integer(),
    acknowledged: Type.Integer(),
    openBySeverity: counts(`Open incidents (not acknowledged) per severity; every one of ${SEVERITIES.join(', ')}`),
    activeByState: Type.Array(
      Type.Object({
        state: Type.String({ description: INCIDENT_STATES.filter((s) => s !== 'resolved').join(' or ') }),
        severity: Type.String(),
        count: Type.Integer(),
      }),
      { description: 'Incidents not resolved, per state and severity' },
    ),
  }),
  hostsAffected24h: Type.Integer({ description: 'Hosts with a blocked or alerted query in the window' }),
  topNames: Type.Array(
    Type.Object({
      name: Type.String(),
      count: Type.Integer(),
      list: Type.Union([Type.String(), Type.Null()], { description: "The list of the name's latest event" }),
    }),
  ),
  outcomes: Type.Object({
    sinceStart: counts('Live counters of this process'),
    last24h: counts('From the database (survives restarts)'),
  }),
  lists: Type.Array(ListHealthSchema),
  upstreams: Type.Array(UpstreamHealthSchema),
  store: Type.Object({
    healthy: Type.Boolean(),
    written: Type.Integer(),
    dropped: Type.Integer({ description: 'Events dropped since start (buffer full)' }),
    droppedLast24h: Type.Integer({ description: 'Events dropped in the window, from the database' }),
    buffered: Type.Integer(),
    writeErrors: Type.Integer(),
    lastError: Type.Optional(Type.String()),
  }),
});
export type OverviewView = Static<typeof OverviewSchema>;

export const EffectiveConfigSchema = Type.Object({
  config: Type.Record(Type.String(), Type.Unknown(), {
    description: 'The configuration in effect (the file with defaults, derived values filled in); secrets are "***"',
  }),
  masked: Type.Array(Type.String(), { description: 'Paths of the values replaced by "***"' }),
});

export const DASHBOARD_SCHEMAS = {
  Timeseries: TimeseriesSchema,
  Overview: OverviewSchema,
  EffectiveConfig: EffectiveConfigSchema,
} as const;
