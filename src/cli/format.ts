import type { JobRecord, NodeInfo, UnitInfo } from '../store/index.js';
import { formatLocalTime } from '../environ/index.js';

/** moi's date layout: "2015-06-01 15:46:49.977", in local time. */
export const formatDate = formatLocalTime;

function show(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** moi's record layout: a banner with the id, sorted `key : value` lines, the result last. */
export function formatRecord(record: NodeInfo | JobRecord, waiting?: string): string {
  const { result, output: _output, ...rest } = record as JobRecord;
  const fields: Record<string, string> = {};
  if (waiting) fields.waiting = waiting;
  for (const [key, value] of Object.entries(rest)) {
    if (key === 'waiting') continue;
    fields[key] = key.startsWith('date_') ? formatDate(value as number | null) : key === 'progress' && value ? progressText(value as NodeInfo['progress']) : show(value);
  }
  const keys = Object.keys(fields).sort();
  const width = Math.max(...keys.map((k) => k.length), 'result'.length);
  const lines = [`********** ${record.id} **********`];
  for (const key of keys) lines.push(`${key.padEnd(width)} : ${fields[key]}`);
  lines.push(`${'result'.padEnd(width)} : ${show(result)}`);
  return `${lines.join('\n')}\n`;
}

/** moi's summary line: date, id, status (and, for a queued job, why it waits). */
export function formatSummary(info: NodeInfo, waiting?: string): string {
  return `date: ${formatDate(info.date_created)}\tid: ${info.id}\tstatus: ${info.status}${waiting ? `\twaiting: ${waiting}` : ''}`;
}

/** One line per unit of `sluice job ID --units`. */
export function formatUnit(u: UnitInfo): string {
  const outcome = u.state === 'failed' ? (u.error ?? '') : u.state === 'done' ? show(u.result) : u.state === 'delayed' && u.run_after ? `until ${formatDate(u.run_after)}` : '';
  return `unit ${u.idx}\t${u.state}\tattempts: ${u.attempts}\tinput: ${show(u.input)}${outcome ? `\t${u.state === 'failed' ? 'error' : u.state === 'done' ? 'result' : 'delayed'}: ${outcome}` : ''}`;
}

export function progressText(progress: NodeInfo['progress']): string {
  if (!progress) return '';
  return `${progress.done}/${progress.total}${progress.message ? ` ${progress.message}` : ''}`;
}

/** The one-line live view of a job for `--block` on a terminal. */
export function liveLine(info: NodeInfo, startedAt: number): string {
  const elapsed = ((Date.now() - startedAt) / 1000).toFixed(1);
  const parts = [info.status ?? '', progressText(info.progress), info.status_text ?? '', `${elapsed}s`];
  return parts.filter(Boolean).join('  ');
}
