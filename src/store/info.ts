import type { Environ } from '../environ/index.js';
import type { JobRecord, JobStatus, NodeInfo, UnitClass } from './types.js';

/** A node row as both stores keep it (JSON columns as text). */
export interface NodeRow {
  id: string;
  type: 'job' | 'group';
  name: string;
  parent: string | null;
  owner: string;
  status: JobStatus | null;
  status_text: string | null;
  job_type: string | null;
  tags: string;
  priority: number;
  class: UnitClass;
  progress: string | null;
  attempts: number;
  max_attempts: number;
  date_created: number;
  date_start: number | null;
  date_end: number | null;
  environ?: string | null;
  output?: string | null;
  result: string | null;
  error: string | null;
  units_total?: number;
  units_done?: number;
  units_failed?: number;
}

export function infoOf(row: NodeRow): NodeInfo {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    parent: row.parent,
    owner: row.owner,
    status: row.status,
    status_text: row.status_text,
    job_type: row.job_type,
    tags: JSON.parse(row.tags) as string[],
    priority: row.priority,
    class: row.class,
    progress: row.progress ? JSON.parse(row.progress) : null,
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    date_created: Number(row.date_created),
    date_start: row.date_start === null ? null : Number(row.date_start),
    date_end: row.date_end === null ? null : Number(row.date_end),
    result: row.result === null ? null : JSON.parse(row.result),
    error: row.error,
  };
}

export function recordOf(row: NodeRow): JobRecord | NodeInfo {
  const info = infoOf(row);
  if (row.type === 'group') return info;
  return {
    ...info,
    environ: row.environ ? (JSON.parse(row.environ) as Environ) : {},
    output: row.output ? (JSON.parse(row.output) as Environ) : null,
  };
}

/** The default job name, as moi's CLI named its jobs. */
export function defaultName(owner: string, environ: Environ): string {
  return `${owner}-${environ.job_type ?? 'job'}`;
}
