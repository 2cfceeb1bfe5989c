/**
 * Sluice as a library: `import { connect, openLocal } from 'sluice'` gives the same `Service`
 * whether it talks to a store in this process or to a server over HTTP (PARK's local or remote
 * service), and the functions below use the default service (`withService(service, fn)` for a
 * block, else SLUICE_URL's server or the local store).
 */
import { readConfig } from './environ/index.js';
import { Root } from './server/index.js';
import {
  closeBaseService, connect, currentService, setBaseService,
  type LocalService, type StreamFilter, type StreamItem, type StreamOptions, type SubmitRequest, type WaitOptions,
} from './service/index.js';
import type { JobFilter, JobRecord, NodeInfo, UnitInfo } from './store/index.js';

export interface LocalOptions {
  /** SLUICE_HOME (the embedded database lives there) */
  home?: string;
  /** SLUICE_STORE: a SQLite file, or a postgres:// URL */
  store?: string;
  /** the default owner of submitted jobs (SLUICE_USER) */
  user?: string;
  /** the rest of the configuration; default: this process's environment */
  env?: Record<string, string | undefined>;
}

/**
 * A service over the store in this process (PARK's local service): the same store the CLI uses,
 * or the one named. Its `close()` closes what it opened (the store, `js` children, file clients).
 */
export async function openLocal(options: LocalOptions = {}): Promise<LocalService> {
  const env = { ...(options.env ?? process.env) };
  if (options.home !== undefined) env.SLUICE_HOME = options.home;
  if (options.store !== undefined) env.SLUICE_STORE = options.store;
  if (options.user !== undefined) env.SLUICE_USER = options.user;
  const root = new Root(readConfig(env), { create: true });
  try {
    return await root.service();
  } catch (err) {
    await root.close();
    throw err;
  }
}

// The base of the default-service stack comes from the configuration, as the CLI's does.
setBaseService(async () => {
  const config = readConfig(process.env);
  return config.url ? connect(config.url, { token: config.token }) : openLocal();
});

/** Submits one job (the id) with the default service. */
export async function submit(request: SubmitRequest): Promise<string> {
  const [id] = await (await currentService()).submit([request]);
  return id!;
}

export async function get(id: string): Promise<JobRecord | NodeInfo> {
  return (await currentService()).get(id);
}

export async function list(filter?: JobFilter): Promise<NodeInfo[]> {
  return (await currentService()).list(filter);
}

export async function wait(id: string, options?: WaitOptions): Promise<JobRecord> {
  return (await currentService()).wait(id, options);
}

export async function abort(id: string): Promise<JobRecord> {
  return (await currentService()).abort(id);
}

export async function control(id: string, message: unknown): Promise<{ seq: number }> {
  return (await currentService()).control(id, message);
}

export async function units(id: string): Promise<UnitInfo[]> {
  return (await currentService()).units(id);
}

export async function* stream(filter: StreamFilter, options?: StreamOptions): AsyncIterable<StreamItem> {
  yield* (await currentService()).stream(filter, options);
}

/** Closes the default base service, if one was opened (so that a program can end). */
export const closeDefaultService = closeBaseService;

export { connect, currentService, withService, RemoteService, LocalService, type ConnectOptions } from './service/index.js';
export type {
  Service, LocalExtension, SubmitRequest, StreamFilter, StreamItem, StreamOptions, WaitOptions, Principal, NewUser, UserPatch, FairshareRow, OwnerSummary,
} from './service/index.js';
export type { JobFilter, JobRecord, NodeInfo, UnitInfo, JobStatus, StoreEvent, UserInfo, WorkerView, Role, Delivery } from './store/index.js';
export { SluiceError, UsageError, NotFoundError, ConflictError, TimeoutError, ForbiddenError, UnauthorizedError, TooLargeError, RateLimitedError, UnavailableError } from './environ/index.js';
export type { Environ } from './environ/index.js';
