/**
 * The incident table of the Incidents page and of the Fleet page (fleet incidents add the
 * instances that saw the host, and acknowledge / resolve in the row). Every string is text.
 */
import type { ComponentChildren } from 'preact';
import type { HostIdentity } from '../types.js';
import { RetroMark } from './retro-mark.js';
import { HostLabel, Time } from './ui.js';

/** What a row needs: a local incident (web/types.ts) or a fleet one (web/fleet-types.ts). */
export interface IncidentRow {
  readonly id: number;
  readonly clientIp: string;
  readonly identity: HostIdentity | null;
  readonly state: string;
  readonly severity: string;
  readonly attempts: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly lists?: readonly string[];
  readonly instances?: readonly string[];
  readonly retro?: boolean;
}

export function IncidentTable<T extends IncidentRow>(props: {
  incidents: readonly T[];
  /** Shown instead of an empty table. */
  empty: string;
  /** The Instances column (fleet incidents). */
  showInstances?: boolean;
  /** The Lists column (local incidents). */
  showLists?: boolean;
  /** The incident's page, when it has one: its id links there. */
  href?: (incident: T) => string;
  /** A last column with what can be done to the incident. */
  actions?: (incident: T) => ComponentChildren;
  testId?: string;
}) {
  const { incidents, showInstances = false, showLists = false, href, actions } = props;
  if (incidents.length === 0) return <p class="muted">{props.empty}</p>;
  return (
    <table data-testid={props.testId}>
      <thead>
        <tr>
          <th scope="col">Incident</th>
          <th scope="col">Host</th>
          {showInstances ? <th scope="col">Instances</th> : null}
          <th scope="col">State</th>
          <th scope="col">Severity</th>
          <th scope="col" class="num">
            Attempts
          </th>
          {showLists ? <th scope="col">Lists</th> : null}
          <th scope="col">First seen</th>
          <th scope="col">Last seen</th>
          {actions !== undefined ? <th scope="col">Change</th> : null}
        </tr>
      </thead>
      <tbody>
        {incidents.map((incident) => (
          <tr key={incident.id} data-incident={incident.id}>
            <td>
              {href !== undefined ? <a href={href(incident)}>#{incident.id}</a> : `#${incident.id}`}{' '}
              <RetroMark retro={incident.retro === true} />
            </td>
            <td>
              <HostLabel ip={incident.clientIp} identity={incident.identity} />
            </td>
            {showInstances ? <td class="instances">{(incident.instances ?? []).join(', ')}</td> : null}
            <td>
              <span class={`state state-${incident.state}`}>{incident.state}</span>
            </td>
            <td>
              <span class={`sev sev-${incident.severity}`}>{incident.severity}</span>
            </td>
            <td class="num">{incident.attempts}</td>
            {showLists ? <td>{(incident.lists ?? []).join(', ')}</td> : null}
            <td>
              <Time iso={incident.firstSeen} />
            </td>
            <td>
              <Time iso={incident.lastSeen} />
            </td>
            {actions !== undefined ? <td>{actions(incident)}</td> : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
