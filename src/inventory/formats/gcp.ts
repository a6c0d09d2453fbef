/**
 * `gcloud compute instances list --format=json`: an array of instances. The project comes from
 * selfLink (or zone) `.../projects/<project>/zones/<zone>/...`, the region from the zone
 * ("us-central1-a" → "us-central1"). Addresses: networkInterfaces[].networkIP, accessConfigs[].natIP,
 * and the IPv6 ones (ipv6Address, ipv6AccessConfigs[].externalIpv6). Labels become tags.
 */
import {
  arrayOf,
  cleanTags,
  createEntryCollector,
  inventoryIdentity,
  isRecord,
  type ParsedInventory,
} from '../inventory-entry.js';

function lastSegment(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const slash = value.lastIndexOf('/');
  return slash < 0 ? value : value.slice(slash + 1);
}

function projectOf(instance: Record<string, unknown>): string | undefined {
  for (const link of [instance['selfLink'], instance['zone']]) {
    if (typeof link !== 'string') continue;
    const match = /\/projects\/([^/]+)\//.exec(link);
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

/** "us-central1-a" → "us-central1". */
export function regionOfGcpZone(zone: string | undefined): string | undefined {
  if (zone === undefined) return undefined;
  const dash = zone.lastIndexOf('-');
  return dash > 0 ? zone.slice(0, dash) : zone;
}

function addressesOf(instance: Record<string, unknown>): unknown[] {
  const addresses: unknown[] = [];
  for (const nic of arrayOf(instance['networkInterfaces'])) {
    if (!isRecord(nic)) continue;
    addresses.push(nic['networkIP'], nic['ipv6Address']);
    for (const access of arrayOf(nic['accessConfigs'])) if (isRecord(access)) addresses.push(access['natIP']);
    for (const access of arrayOf(nic['ipv6AccessConfigs'])) {
      if (isRecord(access)) addresses.push(access['externalIpv6']);
    }
  }
  return addresses;
}

export function parseGcp(doc: unknown): ParsedInventory {
  const collector = createEntryCollector();
  for (const instance of arrayOf(doc)) {
    if (!isRecord(instance)) continue;
    const zone = lastSegment(instance['zone']);
    const labels = instance['labels'];
    const identity = inventoryIdentity({
      name: instance['name'],
      instanceId: instance['id'],
      account: projectOf(instance),
      region: regionOfGcpZone(zone),
      tags: isRecord(labels) ? cleanTags(Object.entries(labels)) : undefined,
    });
    collector.add(addressesOf(instance), identity);
  }
  return { format: 'gcp', entries: collector.entries, skipped: collector.skipped };
}
