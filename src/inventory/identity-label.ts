/**
 * One line naming a host for people (CLI tables, notifications): `web-7 (i-0abc, team=payments)`.
 * Identity text was cleaned of control characters when it was read (inventory-entry.ts), so the
 * label is safe to print; it is cut to maxChars.
 */
import type { HostIdentity } from './host-identity.js';

export function identityLabel(identity: HostIdentity | undefined, maxChars = 80): string {
  if (identity === undefined) return '';
  const details = [
    ...(identity.instanceId !== undefined ? [identity.instanceId] : []),
    ...Object.entries(identity.tags ?? {}).map(([key, value]) => (value === '' ? key : `${key}=${value}`)),
  ];
  const name = identity.name ?? identity.instanceId ?? '';
  const rest = identity.name === undefined ? details.slice(1) : details;
  const label = rest.length === 0 ? name : `${name} (${rest.join(', ')})`;
  return label.length > maxChars ? `${label.slice(0, maxChars - 1)}…` : label;
}
