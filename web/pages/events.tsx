/** Events: search by client, name, list, action and time; keyset pages; export the filter as CSV or NDJSON. */
import { useState } from 'preact/hooks';
import { api, download, queryString } from '../api.js';
import { EventTable } from '../components/event-table.js';
import { ErrorNote, Loading } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { EventPage } from '../types.js';
import { Pager } from '../components/pager.js';
import { ExportButtons } from '../components/export-buttons.js';

const FIELDS = [
  { name: 'client', label: 'Client IP', placeholder: '10.0.1.17' },
  { name: 'domain', label: 'Name (and subdomains)', placeholder: 'pool.example' },
  { name: 'list', label: 'List', placeholder: 'pools' },
  { name: 'since', label: 'Since', placeholder: '24h or 2026-12-01T00:00:00Z' },
  { name: 'until', label: 'Until', placeholder: 'ISO time' },
] as const;

export type EventFilter = Readonly<Record<string, string>>;

export function EventsPage({ initial }: { initial: EventFilter }) {
  const [draft, setDraft] = useState<EventFilter>(initial);
  const [filter, setFilter] = useState<EventFilter>(initial);
  const [pages, setPages] = useState<readonly string[]>([]);
  const [exportError, setExportError] = useState<string | undefined>(undefined);
  const cursor = pages.at(-1);
  const page = useLoad(
    () => api<EventPage>(`/api/v1/events${queryString({ ...filter, limit: 50, cursor })}`),
    JSON.stringify([filter, cursor]),
  );
  const exportAs = async (format: 'csv' | 'ndjson'): Promise<void> => {
    setExportError(undefined);
    try {
      await download(`/api/v1/events${queryString({ ...filter, format })}`, `poolsink-events.${format}`);
    } catch (err: unknown) {
      setExportError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <div class="page">
      <h1>Events</h1>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(draft);
          setPages([]);
        }}
      >
        {FIELDS.map((field) => (
          <label key={field.name}>
            {field.label}
            <input
              name={field.name}
              value={draft[field.name] ?? ''}
              placeholder={field.placeholder}
              onInput={(e) => setDraft({ ...draft, [field.name]: e.currentTarget.value.trim() })}
            />
          </label>
        ))}
        <label>
          Action
          <select value={draft['action'] ?? ''} onChange={(e) => setDraft({ ...draft, action: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="blocked">blocked</option>
            <option value="alerted">alerted</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      <ExportButtons exportAs={exportAs} />
      <ErrorNote error={exportError ?? page.error} />
      <Loading when={page.data === undefined && page.error === undefined} />
      {page.data !== undefined ? <EventTable events={page.data.events} /> : null}
      <Pager pages={pages} setPages={setPages} next={page.data?.nextCursor} />
    </div>
  );
}
