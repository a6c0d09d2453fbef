/**
 * A table of block events: the Events page, an incident's recent events, and the Fleet page's
 * events (with an Instance column, and no local incident). Names are shown as the API gives them
 * (raw, any byte) and rendered as text only.
 */
import type { EventView } from '../types.js';
import { HostLabel, Time } from './ui.js';

/** What a row needs: a local event, or a fleet event (its instance, no local incident). */
export type EventRow = Pick<
  EventView,
  'id' | 'time' | 'clientIp' | 'identity' | 'qname' | 'list' | 'rule' | 'action' | 'count'
> & {
  readonly instance?: string;
  readonly incidentId?: number | null;
};

export function EventTable({
  events,
  showInstance = false,
  testId,
}: {
  events: readonly EventRow[];
  /** The Instance column instead of the (local) Incident column: fleet events. */
  showInstance?: boolean;
  testId?: string;
}) {
  if (events.length === 0) return <p class="muted">No events match.</p>;
  return (
    <table data-testid={testId}>
      <thead>
        <tr>
          <th scope="col">Time</th>
          {showInstance ? <th scope="col">Instance</th> : null}
          <th scope="col">Host</th>
          <th scope="col">Name</th>
          <th scope="col">List</th>
          <th scope="col">Rule</th>
          <th scope="col">Action</th>
          <th scope="col" title="Queries the row stands for: repeats within database.coalesceWindowMs are one row">
            Count
          </th>
          {showInstance ? null : <th scope="col">Incident</th>}
        </tr>
      </thead>
      <tbody>
        {events.map((event) => (
          <tr key={`${event.instance ?? ''} ${event.id}`}>
            <td>
              <Time iso={event.time} />
            </td>
            {showInstance ? <td class="instance">{event.instance}</td> : null}
            <td>
              <HostLabel ip={event.clientIp} identity={event.identity} />
            </td>
            <td class="mono wrap qname">{event.qname}</td>
            <td>{event.list}</td>
            <td class="mono wrap">{event.rule}</td>
            <td>{event.action}</td>
            <td class="num">{event.count}</td>
            {showInstance ? null : (
              <td>
                {event.incidentId == null ? '–' : <a href={`#/incidents/${event.incidentId}`}>#{event.incidentId}</a>}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
