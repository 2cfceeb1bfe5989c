/**
 * The server's JSON as the dashboard reads it (docs/api.md): the shapes are written out here rather
 * than imported, so that browser code depends on the wire format only, never on server modules.
 * Times are UTC ISO-8601 strings, as the API sends them.
 */
export type JobStatus = 'Queued' | 'Waiting' | 'Running' | 'Success' | 'Failed' | 'Aborted';
export const STATUSES: JobStatus[] = ['Queued', 'Waiting', 'Running', 'Success', 'Failed', 'Aborted'];
export const ENDED: ReadonlySet<string> = new Set(['Success', 'Failed', 'Aborted']);
export type Role = 'admin' | 'trusted' | 'user' | 'viewer';

export interface NodeInfo {
  id: string;
  type: 'job' | 'group';
  name: string;
  parent: string | null;
  owner: string;
  status: JobStatus | null;
  status_text: string | null;
  job_type: string | null;
  tags: string[];
  priority: number;
  class: string;
  progress: { done: number; total: number; message?: string } | null;
  attempts: number;
  max_attempts: number;
  lost: number;
  context: string;
  date_created: string;
  date_start: string | null;
  date_end: string | null;
  result: unknown;
  error: string | null;
}

export type Environ = Record<string, unknown>;

export interface JobRecord extends NodeInfo {
  environ: Environ;
  output: Environ | null;
  units?: Array<{ index: number; status: string; result?: unknown; error?: string | null }>;
  delivery?: { url: string; state: string; attempts: number; next_at: string | null; last_error: string | null; done_at: string | null };
  account?: string;
  waiting?: string;
}

export interface UnitInfo {
  id: number;
  idx: number;
  state: string;
  input: unknown;
  attempts: number;
  lost: number;
  worker: string | null;
  run_after: string | null;
  started_at: string | null;
  ended_at: string | null;
  result: unknown;
  error: string | null;
  ram_mb: number;
  exclusive: boolean;
}

export interface StoreEvent {
  seq: number;
  at: string;
  verb: 'add' | 'update' | 'prune';
  id?: string;
  info?: NodeInfo;
}

export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  ram_mb: number;
  exclusive: boolean;
  pools: string[];
  labels: Record<string, string>;
  started_at: string;
  heartbeat_at: string;
  running: number;
  ram_used_mb: number;
}

/** The service's own row (no dates in it, so the wire form is the same): one definition, no drift. */
export type { FairshareRow } from '../service/types.js';

export interface Stats {
  now: string;
  since: string;
  tracking_since: string;
  step_ms: number;
  started: Record<string, number[]>;
  finished: Record<string, number[]>;
  queued: { step_ms: number; at: string[]; by_class: Record<string, Array<number | null>> };
  usage: { step_ms: number; at: string[]; by_owner: Record<string, Array<number | null>> };
}

export interface Me {
  name: string;
  role: Role;
  accounts: string[];
}

export interface Page {
  jobs: NodeInfo[];
  next: string | null;
  seq: number;
}

/** An answer other than 2xx: the server's `{error, message}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A call to the API with the session cookie (same origin); JSON in and out. */
export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const e = (parsed ?? {}) as { error?: string; message?: string };
    throw new ApiError(response.status, e.error ?? 'error', e.message ?? `${response.status} ${response.statusText}`);
  }
  return parsed as T;
}

export const get = <T>(path: string) => call<T>('GET', path);

/** A query string from the set values of `params`. */
export function query(params: Record<string, string | number | undefined | null | false>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== false && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
