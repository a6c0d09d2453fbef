/** The Fleet page's own tables: the instances, and the hosts per instance that saw them. */
import { HostLabel, Time } from '../components/ui.js';
import type { FleetHost, FleetInstances } from '../fleet-types.js';

export function InstanceTable({ data }: { data: FleetInstances }) {
  if (data.instances.length === 0) return <p class="muted">No instance has shipped yet.</p>;
  return (
    <table data-testid="fleet-instances">
      <thead>
        <tr>
          <th scope="col">Instance</th>
          <th scope="col">Last shipped</th>
          <th scope="col" class="num">
            Shipped events
          </th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {data.instances.map((i) => (
          <tr key={i.name}>
            <td class="instance">
              {i.name}
              {i.name === data.instance ? <span class="muted"> (this one)</span> : null}
            </td>
            <td>
              <Time iso={i.lastShipped} />
            </td>
            <td class="num">{i.shippedEvents}</td>
            <td>
              <Time iso={i.seen} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function FleetHostTable({ hosts }: { hosts: readonly FleetHost[] }) {
  if (hosts.length === 0) return <p class="muted">No hosts match.</p>;
  return (
    <table data-testid="fleet-hosts">
      <thead>
        <tr>
          <th scope="col">Host</th>
          <th scope="col">Instance</th>
          <th scope="col" class="num">
            Blocked
          </th>
          <th scope="col">First seen</th>
          <th scope="col">Last seen</th>
        </tr>
      </thead>
      <tbody>
        {hosts.map((host) => (
          <tr key={`${host.clientIp} ${host.instance}`}>
            <td>
              <HostLabel ip={host.clientIp} identity={host.identity} />
            </td>
            <td class="instance">{host.instance}</td>
            <td class="num">{host.blockedCount}</td>
            <td>
              <Time iso={host.firstSeen} />
            </td>
            <td>
              <Time iso={host.lastSeen} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
