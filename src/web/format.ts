/** Local time as Sluice prints it everywhere (INTERFACE.md): YYYY-MM-DD HH:MM:SS.mmm. */
export function localTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** A span of ms as people read it: 850 ms, 12.3 s, 4m 05s, 2h 10m, 3d 4h. */
export function span(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '';
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const t = (iso: string | null) => (iso ? Date.parse(iso) : null);

/** How long a job waited in the queue: from creation to its start (or until now). */
export function queuedFor(info: { date_created: string; date_start: string | null; date_end: string | null }, now: number): number {
  return (t(info.date_start) ?? t(info.date_end) ?? now) - Date.parse(info.date_created);
}

/** How long a job has run: from its start to its end (or until now); null before it started. */
export function ranFor(info: { date_start: string | null; date_end: string | null }, now: number): number | null {
  const start = t(info.date_start);
  return start === null ? null : (t(info.date_end) ?? now) - start;
}

export function shortId(id: string): string {
  return id.slice(-8);
}

export function bytes(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GiB` : `${mb} MiB`;
}
