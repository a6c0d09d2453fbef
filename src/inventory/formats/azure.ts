/**
 * `az vm list --show-details -o json`: an array of VMs. privateIps and publicIps are strings of
 * comma-separated addresses; the subscription comes from the resource id
 * `/subscriptions/<sub>/resourceGroups/<rg>/...`, the region from location.
 */
import {
  arrayOf,
  cleanTags,
  createEntryCollector,
  inventoryIdentity,
  isRecord,
  type ParsedInventory,
} from '../inventory-entry.js';

function splitAddresses(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

export function subscriptionOf(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  return /\/subscriptions\/([^/]+)/i.exec(id)?.[1];
}

export function parseAzure(doc: unknown): ParsedInventory {
  const collector = createEntryCollector();
  for (const vm of arrayOf(doc)) {
    if (!isRecord(vm)) continue;
    const tags = vm['tags'];
    const identity = inventoryIdentity({
      name: vm['name'],
      instanceId: vm['vmId'],
      account: subscriptionOf(vm['id']),
      region: vm['location'],
      tags: isRecord(tags) ? cleanTags(Object.entries(tags)) : undefined,
    });
    collector.add([...splitAddresses(vm['privateIps']), ...splitAddresses(vm['publicIps'])], identity);
  }
  return { format: 'azure', entries: collector.entries, skipped: collector.skipped };
}
