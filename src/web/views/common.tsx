import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { NodeInfo } from '../api.js';
import { live, type Change } from '../live.js';

/** A status as a coloured word (the colour is not the only sign: the word is there). */
export function Status({ status }: { status: string | null }) {
  if (!status) return <span class="status status-group">group</span>;
  return <span class={`status status-${status.toLowerCase()}`}>{status}</span>;
}

/** k of n as a bar with its numbers; a job without a count shows where its status puts it. */
export function Progress({ info }: { info: Pick<NodeInfo, 'progress' | 'status' | 'type'> }) {
  if (info.type === 'group') return null;
  const p = info.progress;
  const total = p?.total ?? 1;
  const done = p ? p.done : info.status === 'Success' ? 1 : 0;
  const pct = total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
  const label = p ? `${done} of ${total} (${pct} %)${p.message ? `: ${p.message}` : ''}` : info.status === 'Success' ? 'done' : '';
  return (
    <span class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={total} aria-valuenow={done} aria-label={label || 'progress'} title={label}>
      <span class="bar" style={{ width: `${pct}%` }} />
      <span class="pct">{p ? `${done}/${total}` : ''}</span>
    </span>
  );
}

export function Tags({ tags }: { tags: string[] }) {
  return (
    <span class="tags">
      {tags.map((t) => (
        <a class="tag" href={`#/jobs?tag=${encodeURIComponent(t)}`}>
          {t}
        </a>
      ))}
    </span>
  );
}

export function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Section({ title, children, open = true, id }: { title: string; children: ComponentChildren; open?: boolean; id?: string }) {
  return (
    <details class="section" open={open} id={id}>
      <summary>
        <h2>{title}</h2>
      </summary>
      {children}
    </details>
  );
}

/**
 * Rows kept live: a change newer than what the rows were read as of replaces its row; a node that
 * `accept` takes (it belongs to what is shown) and is not there yet takes its place in the order.
 */
export function useLiveRows(initial: { rows: NodeInfo[]; asOf: number } | null, accept: (info: NodeInfo) => boolean): NodeInfo[] | null {
  const [rows, setRows] = useState<NodeInfo[] | null>(initial?.rows ?? null);
  useEffect(() => {
    setRows(initial?.rows ?? null);
    if (!initial) return;
    return live.follow(initial.asOf, (c: Change) => {
      setRows((rows) => {
        if (!rows) return rows;
        const at = rows.findIndex((r) => r.id === c.id);
        if (at >= 0) {
          const copy = rows.slice();
          copy[at] = c.info;
          return copy;
        }
        if (!accept(c.info)) return rows;
        // Newest first, as the listing is: a job that came to match (a new one, or one whose status now does) takes its place.
        const key = (i: NodeInfo) => `${i.date_created}\u0000${i.id}`;
        const k = key(c.info);
        const before = rows.findIndex((r) => key(r) < k);
        if (before < 0 && rows.length && c.verb !== 'add') return rows;
        return before < 0 ? [...rows, c.info] : [...rows.slice(0, before), c.info, ...rows.slice(before)];
      });
    });
    // `accept` is read when a change comes; the rows start again when `initial` does.
  }, [initial]);
  return rows;
}
