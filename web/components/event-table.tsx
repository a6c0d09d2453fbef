/** A table of block events; names are shown as the API gives them (presentation format), as text. */
import type { EventView } from '../types.js';
import { HostLabel, Time } from './ui.js';

export function EventTable({ events }: { events: readonly EventView[] }) {
  if (events.length === 0) return <p class="muted">No events match.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Host</th>
          <th scope="col">Name</th>
          <th scope="col">List</th>
          <th scope="col">Rule</th>
          <th scope="col">Action</th>
          <th scope="col" title="Queries the row stands for: repeats within database.coalesceWindowMs are one row">
            Count
          </th>
          <th scope="col">Incident</th>
        </tr>
      </thead>
      <tbody>
        {events.map((event) => (
          <tr key={event.id}>
            <td>
              <Time iso={event.time} />
            </td>
            <td>
              <HostLabel ip={event.clientIp} identity={event.identity} />
            </td>
            <td class="mono wrap qname">{event.qname}</td>
            <td>{event.list}</td>
            <td class="mono wrap">{event.rule}</td>
            <td>{event.action}</td>
            <td class="num">{event.count}</td>
            <td>
              {event.incidentId === null ? '–' : <a href={`#/incidents/${event.incidentId}`}>#{event.incidentId}</a>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
