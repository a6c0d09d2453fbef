/**
 * Who a client address was when an event was recorded: the contract between the inventory
 * (src/inventory/), the store (captured with each event, so a later reuse of the address does not
 * relabel history), incidents and notifications.
 */
export interface HostIdentity {
  /** Host name from the inventory, or the PTR name from reverse DNS. */
  readonly name?: string;
  /** Cloud instance id (i-0abc…, a GCE numeric id, an Azure vmId). */
  readonly instanceId?: string;
  /** AWS account, GCP project or Azure subscription. */
  readonly account?: string;
  readonly region?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** Where the identity came from. */
  readonly source: 'inventory' | 'reverse-dns';
}

/** Looks up the identity of a client address now; undefined when nothing is known. */
export type IdentityLookup = (clientIp: string) => HostIdentity | undefined;
