import type { Environ } from '../environ/index.js';
import type { JobRecord, NodeInfo, UnitSummary } from './types.js';

/** The pool every job runs in until named pools exist (moi's context). */
export const DEFAULT_POOL = 'default';

/** A node row as both stores keep it: the info's fields, with the JSON ones as text. */
export type NodeRow = Omit<NodeInfo, 'tags' | 'progress' | 'result' | 'context'> & {
  pool: string;
  tags: string;
  progress: string | null;
  result: string | null;
  environ?: string | null;
  output?: string | null;
  unit_outcomes?: string | null;
  account?: string | null;
};

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
    lost: row.lost,
    context: row.pool ?? DEFAULT_POOL,
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
    ...(row.unit_outcomes ? { units: JSON.parse(row.unit_outcomes) as UnitSummary[] } : {}),
    ...(row.account ? { account: row.account } : {}),
  };
}

/** The default job name, as moi's CLI named its jobs. */
export function defaultName(owner: string, environ: Environ): string {
  return `${owner}-${environ.job_type ?? 'job'}`;
}
