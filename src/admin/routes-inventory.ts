/** GET /api/v1/inventory: each host inventory file's status (entries, last load, last error) and reverse DNS. */
import type { HostIdentityStatus } from '../inventory/host-identity-service.js';
import { isoTime } from './export.js';
import { errorResponses, jsonResponse, ref } from './openapi.js';
import { json, type Route } from './route-types.js';

export interface InventoryRouteDeps {
  readonly inventory?: { status(): HostIdentityStatus };
}

function timeOrNull(ms: number | undefined): string | null {
  return ms === undefined ? null : isoTime(ms);
}

export function createInventoryRoutes(deps: InventoryRouteDeps): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/inventory',
      auth: 'token',
      doc: {
        operationId: 'getInventory',
        summary: 'Host inventory files and reverse DNS: entries, last load, last error',
        description:
          'A file that cannot be read or parsed keeps its last good entries (healthy: false, lastError says why).',
        tags: ['hosts'],
        responses: { 200: jsonResponse('Inventory status', ref('InventoryStatus')), ...errorResponses(401, 405) },
      },
      handle() {
        const status = deps.inventory?.status() ?? { files: [], identities: 0, reverseDns: null };
        return json(200, {
          files: status.files.map((file) => ({
            source: file.source,
            format: file.format,
            ...(file.detectedFormat !== undefined ? { detectedFormat: file.detectedFormat } : {}),
            entries: file.entries,
            skipped: file.skipped,
            healthy: file.healthy,
            lastLoad: timeOrNull(file.lastLoadMs),
            lastError: file.lastError ?? null,
            lastErrorAt: timeOrNull(file.lastErrorMs),
          })),
          identities: status.identities,
          reverseDns: status.reverseDns,
        });
      },
    },
  ];
}
