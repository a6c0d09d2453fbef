/**
 * /healthz (no token: for load balancers and orchestrators) and /metrics (Prometheus text).
 * /healthz says nothing a probe does not need: no list sources, no error texts, no paths.
 */
import type { Registry } from 'prom-client';
import type { ListManagement } from '../blocklist/list-api.js';
import type { EventWriterStats } from '../store/types.js';
import type { ResolverView } from './metrics.js';
import { errorResponses, jsonResponse, ref } from './openapi.js';
import { json, type HealthReason, type Route, type ServingState } from './route-types.js';

export interface SystemRouteDeps {
  health(): ServingState;
  readonly eventWriter: { readonly stats: EventWriterStats };
  readonly resolver: Pick<ResolverView, 'matcher'>;
  readonly lists?: Pick<ListManagement, 'lists'>;
  readonly registry: Registry;
  /** Notification sinks: one failing makes the status degraded (not a liveness failure). */
  readonly notify?: { status(): readonly { readonly name: string; readonly state: 'ok' | 'failing' }[] };
  /** Host inventory files: /healthz counts the failing ones (never changes the status: DNS does not depend on them). */
  readonly inventory?: { status(): { readonly files: readonly { readonly healthy: boolean }[] } };
}

function inventorySummary(files: readonly { readonly healthy: boolean }[]): { files: number; failing: number } {
  return { files: files.length, failing: files.filter((file) => !file.healthy).length };
}

function degradedReasons(facts: {
  noBlockedNames: boolean;
  listFailing: boolean;
  storeUnhealthy: boolean;
  notifyFailing: boolean;
}): HealthReason[] {
  const reasons: HealthReason[] = [];
  if (facts.noBlockedNames) reasons.push('no-blocked-names');
  if (facts.listFailing) reasons.push('list-failing');
  if (facts.storeUnhealthy) reasons.push('store-unhealthy');
  if (facts.notifyFailing) reasons.push('notify-failing');
  return reasons;
}

export function createSystemRoutes(deps: SystemRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/healthz',
      auth: 'none',
      doc: {
        operationId: 'getHealth',
        summary: 'Liveness and readiness',
        description:
          '200 while DNS is being served (status ok, or degraded, with `reasons`, when no name is blocked, a list failed, the store cannot write or a sink fails); 503 otherwise.',
        tags: ['system'],
        responses: {
          200: jsonResponse('Serving', ref('Health')),
          503: jsonResponse('Not serving', ref('Health')),
          ...errorResponses(405),
        },
      },
      handle() {
        const state = deps.health();
        const writer = deps.eventWriter.stats;
        const lists =
          deps.lists?.lists().map((l) => ({ name: l.name, entries: l.entries, ok: l.lastError === undefined })) ??
          deps.resolver.matcher.lists.map((l) => ({ name: l.name, entries: l.entries, ok: true }));
        const sinks = deps.notify?.status().map((sink) => ({ name: sink.name, ok: sink.state === 'ok' })) ?? [];
        const reasons = degradedReasons({
          noBlockedNames: deps.resolver.matcher.blockSize === 0,
          listFailing: lists.some((l) => !l.ok),
          storeUnhealthy: !writer.healthy,
          notifyFailing: sinks.some((sink) => !sink.ok),
        });
        const status = !state.serving ? 'unavailable' : reasons.length > 0 ? 'degraded' : 'ok';
        return json(state.serving ? 200 : 503, {
          status,
          ...(reasons.length > 0 ? { reasons } : {}),
          listeners: state.listeners.map((l) => ({ protocol: l.protocol, address: l.address })),
          lists,
          store: { healthy: writer.healthy, buffered: writer.buffered, dropped: writer.dropped },
          ...(sinks.length > 0 ? { notify: sinks } : {}),
          ...(deps.inventory !== undefined ? { inventory: inventorySummary(deps.inventory.status().files) } : {}),
        });
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      auth: 'metrics',
      doc: {
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description: 'Text exposition format. Requires the token unless admin.metricsAuth is false.',
        tags: ['system'],
        responses: {
          200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...errorResponses(401, 405),
        },
      },
      async handle() {
        return {
          kind: 'text',
          status: 200,
          contentType: deps.registry.contentType,
          body: await deps.registry.metrics(),
        };
      },
    },
  ];
}
