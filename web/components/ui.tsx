/** Small shared pieces: identity, times, errors, tables of counts. Everything is rendered as text. */
import type { ComponentChildren } from 'preact';
import type { HostIdentity } from '../types.js';

export function ErrorNote({ error }: { error: string | undefined }) {
  if (error === undefined) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p class="muted">Loading…</p> : null;
}

/** `2026-12-02T15:53:07.000Z` → local `2026-12-02 16:53:07`. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '–';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  return iso === null || iso === undefined ? <span>–</span> : <time dateTime={iso}>{formatTime(iso)}</time>;
}

export function formatAge(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** The host's name (inventory or reverse DNS) and its address. */
export function HostLabel({ ip, identity }: { ip: string; identity: HostIdentity | null }) {
  return (
    <span class="host">
      {identity?.name !== undefined ? <strong>{identity.name}</strong> : null}
      {identity?.name !== undefined ? ' ' : null}
      <span class="mono">{ip}</span>
    </span>
  );
}

export function IdentityDetails({ identity }: { identity: HostIdentity | null }) {
  if (identity === null) return <p class="muted">No identity known for this address.</p>;
  const rows: [string, string | undefined][] = [
    ['Name', identity.name],
    ['Instance', identity.instanceId],
    ['Account', identity.account],
    ['Region', identity.region],
    ['Source', identity.source],
  ];
  return (
    <dl class="facts">
      {rows
        .filter((row): row is [string, string] => row[1] !== undefined)
        .map(([label, value]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      {identity.tags !== undefined && Object.keys(identity.tags).length > 0 ? (
        <div>
          <dt>Tags</dt>
          <dd>
            {Object.entries(identity.tags).map(([k, v]) => (
              <span class="tag" key={k}>
                {k}={v}
              </span>
            ))}
          </dd>
        </div>
      ) : null}
    </dl>
  );
}

export function Card({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function CountTable({
  rows,
  label,
  empty,
}: {
  rows: readonly { readonly key: string; readonly count: number }[];
  label: string;
  empty: string;
}) {
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">{label}</th>
          <th scope="col" class="num">
            Count
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key}>
            <td class="mono wrap">{row.key}</td>
            <td class="num">{row.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
