import { formatLocalTime } from '../../environ/index.js';
import type { JobRecord } from '../../store/index.js';

/** A mail as Sluice writes it: plain text, one subject line. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
}

const MAX_RESULT_CHARS = 2000;

/** What a job's record says, for a person: status, times, the result or the error, and a link when there is a public URL. */
function describe(r: JobRecord, publicUrl: string | undefined): string[] {
  const lines = [
    `${r.name} (${r.id})`,
    `  status:   ${r.status}`,
    `  owner:    ${r.owner}`,
    `  created:  ${formatLocalTime(r.date_created)}`,
    `  started:  ${formatLocalTime(r.date_start)}`,
    `  ended:    ${formatLocalTime(r.date_end)}`,
  ];
  if (r.status === 'Success') {
    const text = JSON.stringify(r.result) ?? 'null';
    lines.push(`  result:   ${text.length > MAX_RESULT_CHARS ? `${text.slice(0, MAX_RESULT_CHARS)}…` : text}`);
  } else if (r.error) {
    lines.push(`  error:    ${r.error}`);
  }
  if (publicUrl) lines.push(`  link:     ${publicUrl}/#/jobs/${r.id}`);
  return lines;
}

/** The mail of one job that ended (`--notify-now`). */
export function jobMail(to: string, r: JobRecord, publicUrl: string | undefined): Mail {
  return { to, subject: `Sluice: ${r.name} ended ${r.status}`, text: `${describe(r, publicUrl).join('\n')}\n` };
}

/** An address's daily digest: counts by status, then every job that ended since the last one. */
export function digestMail(to: string, records: JobRecord[], day: string, publicUrl: string | undefined): Mail {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.status ?? '?', (counts.get(r.status ?? '?') ?? 0) + 1);
  const summary = [...counts].sort((a, b) => a[0].localeCompare(b[0])).map(([status, n]) => `${n} ${status}`).join(', ');
  const body = [`${records.length} job(s) ended: ${summary}.`, '', ...records.flatMap((r) => [...describe(r, publicUrl), ''])];
  return { to, subject: `Sluice digest for ${day}: ${summary}`, text: `${body.join('\n')}` };
}
