/**
 * `aws ec2 describe-instances` JSON: Reservations[].Instances[], the account from each
 * reservation's OwnerId, the region from Placement.AvailabilityZone, the name from the Name tag.
 * Addresses: PrivateIpAddress, every NetworkInterfaces[].PrivateIpAddresses[].PrivateIpAddress,
 * PublicIpAddress and the IPv6 addresses.
 */
import {
  arrayOf,
  cleanTags,
  createEntryCollector,
  inventoryIdentity,
  isRecord,
  type ParsedInventory,
} from '../inventory-entry.js';

/** "us-east-1a" → "us-east-1"; a Local Zone "us-west-2-lax-1a" → "us-west-2". */
export function regionOfAvailabilityZone(zone: unknown): string | undefined {
  if (typeof zone !== 'string') return undefined;
  const match = /^([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+)/.exec(zone);
  return match?.[1];
}

function addressesOf(instance: Record<string, unknown>): unknown[] {
  const addresses: unknown[] = [instance['PrivateIpAddress']];
  for (const nic of arrayOf(instance['NetworkInterfaces'])) {
    if (!isRecord(nic)) continue;
    for (const private_ of arrayOf(nic['PrivateIpAddresses'])) {
      if (isRecord(private_)) addresses.push(private_['PrivateIpAddress']);
    }
    for (const v6 of arrayOf(nic['Ipv6Addresses'])) if (isRecord(v6)) addresses.push(v6['Ipv6Address']);
  }
  addresses.push(instance['PublicIpAddress'], instance['Ipv6Address']);
  return addresses;
}

function tagPairs(tags: unknown): [unknown, unknown][] {
  return arrayOf(tags)
    .filter(isRecord)
    .map((tag) => [tag['Key'], tag['Value']]);
}

export function parseAwsEc2(doc: unknown): ParsedInventory {
  const collector = createEntryCollector();
  const reservations = isRecord(doc) ? arrayOf(doc['Reservations']) : [];
  for (const reservation of reservations) {
    if (!isRecord(reservation)) continue;
    for (const instance of arrayOf(reservation['Instances'])) {
      if (!isRecord(instance)) continue;
      const pairs = tagPairs(instance['Tags']);
      const nameTag = pairs.find(([key]) => key === 'Name');
      const placement = instance['Placement'];
      const identity = inventoryIdentity({
        name: nameTag?.[1],
        instanceId: instance['InstanceId'],
        account: reservation['OwnerId'],
        region: regionOfAvailabilityZone(isRecord(placement) ? placement['AvailabilityZone'] : undefined),
        tags: cleanTags(pairs.filter(([key]) => key !== 'Name')),
      });
      collector.add(addressesOf(instance), identity);
    }
  }
  return { format: 'aws-ec2', entries: collector.entries, skipped: collector.skipped };
}
