/** Lists and allowlist: state of every list, refresh (force behind a confirmation), runtime lists, allowlist, check a name. */
import { useState } from 'preact/hooks';
import { api, send } from '../api.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Card, ErrorNote, formatAge, Loading } from '../components/ui.js';
import { useLoad } from '../hooks.js';
import type { ListView, RefreshResult, Verdict } from '../types.js';
import { AllowlistCard } from './allowlist.js';

const FORMATS = ['auto', 'hosts', 'domains', 'adblock'];
const MODES = ['block', 'alert'];

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function ListsPage() {
  const lists = useLoad(() => api<{ lists: ListView[] }>('/api/v1/lists'), 'lists', 10_000);
  const [outcome, setOutcome] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [editing, setEditing] = useState<string | undefined>(undefined);

  const act = async (work: () => Promise<string>): Promise<void> => {
    setError(undefined);
    setOutcome(undefined);
    try {
      setOutcome(await work());
    } catch (err: unknown) {
      setError(messageOf(err));
    }
    lists.reload();
  };
  const refresh = (name: string | undefined, force: boolean) =>
    act(async () => {
      const path = name === undefined ? '/api/v1/lists/refresh' : `/api/v1/lists/${encodeURIComponent(name)}/refresh`;
      const { results } = await api<{ results: RefreshResult[] }>(`${path}?force=${force}`, { method: 'POST' });
      return results
        .map((r) => `${r.name}: ${r.outcome}, ${r.entries} entries${r.message !== undefined ? ` (${r.message})` : ''}`)
        .join('; ');
    });

  return (
    <div class="page">
      <h1>Lists and allowlist</h1>
      <Card title="Lists">
        <div class="toolbar">
          <button type="button" onClick={() => refresh(undefined, false)}>
            Refresh all now
          </button>
        </div>
        <p class="outcome" role="status">
          {outcome ?? ''}
        </p>
        <ErrorNote error={error ?? lists.error} />
        <Loading when={lists.data === undefined && lists.error === undefined} />
        <table>
          <thead>
            <tr>
              <th scope="col">List</th>
              <th scope="col">Source</th>
              <th scope="col">Mode</th>
              <th scope="col" class="num">
                Entries
              </th>
              <th scope="col">Age</th>
              <th scope="col">Last error</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(lists.data?.lists ?? []).map((list) => (
              <tr key={list.name} class={list.lastError !== null ? 'bad' : ''}>
                <td>
                  {list.name}
                  <span class="muted"> ({list.origin})</span>
                </td>
                <td class="mono wrap">
                  {editing === list.name ? (
                    <EditList list={list} onDone={(message) => act(message).then(() => setEditing(undefined))} />
                  ) : (
                    list.source
                  )}
                </td>
                <td>{list.mode}</td>
                <td class="num">{list.entries}</td>
                <td>{formatAge(list.ageSec)}</td>
                <td class="wrap">{list.lastError ?? '–'}</td>
                <td>
                  <div class="actions">
                    <button type="button" onClick={() => refresh(list.name, false)} aria-label={`Refresh ${list.name}`}>
                      Refresh
                    </button>
                    <ConfirmButton
                      label="Force…"
                      question={`Replace ${list.name} even if it shrank past its guard?`}
                      confirmLabel="Force refresh"
                      onConfirm={() => refresh(list.name, true)}
                    />
                    {list.origin === 'runtime' ? (
                      <>
                        <button type="button" onClick={() => setEditing(editing === list.name ? undefined : list.name)}>
                          {editing === list.name ? 'Cancel edit' : 'Change'}
                        </button>
                        <ConfirmButton
                          label="Remove…"
                          question={`Remove list ${list.name}?`}
                          confirmLabel="Remove"
                          onConfirm={() =>
                            act(async () => {
                              await send(`/api/v1/lists/${encodeURIComponent(list.name)}`, { method: 'DELETE' });
                              return `${list.name} removed`;
                            })
                          }
                        />
                      </>
                    ) : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
      <div class="columns">
        <AddList onAdd={act} />
        <CheckName />
      </div>
      <AllowlistCard />
    </div>
  );
}

function EditList({ list, onDone }: { list: ListView; onDone: (work: () => Promise<string>) => void }) {
  const [source, setSource] = useState(list.source);
  const [mode, setMode] = useState(list.mode);
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        onDone(async () => {
          await send(`/api/v1/lists/${encodeURIComponent(list.name)}`, { method: 'PATCH', body: { source, mode } });
          return `${list.name} changed`;
        });
      }}
    >
      <label>
        Source
        <input value={source} onInput={(e) => setSource(e.currentTarget.value)} />
      </label>
      <label>
        Mode
        <select value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
          {MODES.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
      </label>
      <button type="submit">Save</button>
    </form>
  );
}

function AddList({ onAdd }: { onAdd: (work: () => Promise<string>) => Promise<void> }) {
  const [name, setName] = useState('');
  const [source, setSource] = useState('');
  const [format, setFormat] = useState('auto');
  const [mode, setMode] = useState('block');
  return (
    <Card title="Add a list">
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          onAdd(async () => {
            await send('/api/v1/lists', { method: 'POST', body: { name, source, format, mode } });
            setName('');
            setSource('');
            return `${name} added`;
          });
        }}
      >
        <label>
          Name
          <input value={name} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          Source (URL or file)
          <input value={source} required onInput={(e) => setSource(e.currentTarget.value)} />
        </label>
        <label>
          Format
          <select value={format} onChange={(e) => setFormat(e.currentTarget.value)}>
            {FORMATS.map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
        <label>
          Mode
          <select value={mode} onChange={(e) => setMode(e.currentTarget.value)}>
            {MODES.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <button type="submit">Add list</button>
      </form>
    </Card>
  );
}

function CheckName() {
  const [name, setName] = useState('');
  const [verdict, setVerdict] = useState<Verdict | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  return (
    <Card title="Check a name">
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          setVerdict(undefined);
          try {
            setVerdict(await api<Verdict>(`/api/v1/check?domain=${encodeURIComponent(name)}`));
          } catch (err: unknown) {
            setError(messageOf(err));
          }
        }}
      >
        <label>
          Name
          <input value={name} required onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <button type="submit">Check</button>
      </form>
      <ErrorNote error={error} />
      {verdict !== undefined ? (
        <dl class="facts" data-testid="verdict">
          <div>
            <dt>Verdict</dt>
            <dd>
              <strong>{verdict.verdict}</strong>
            </dd>
          </div>
          <div>
            <dt>List</dt>
            <dd>{verdict.list ?? '–'}</dd>
          </div>
          <div>
            <dt>Rule</dt>
            <dd class="mono">{verdict.rule ?? '–'}</dd>
          </div>
        </dl>
      ) : null}
    </Card>
  );
}
