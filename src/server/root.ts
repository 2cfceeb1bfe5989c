import type { Config, Registry } from '../environ/index.js';
import { openStore, type Store, type StoreEvent } from '../store/index.js';
import { builtinRegistry, JsPool } from '../jobs/index.js';
import { JobFiles } from '../files/index.js';
import { DEFAULT_POLICY, type Policy } from '../schedule/index.js';
import { configureSandbox, helperServer } from '../sandbox/index.js';
import { Worker, type WorkerOptions } from '../worker/index.js';
import { EventHub, LocalService, workerStore } from '../service/index.js';

export interface RootOptions {
  /**
   * May a database named explicitly (SLUICE_STORE) be created when it does not exist? Commands that
   * write say yes; commands that only read say no, so a mistyped path is an error, never "no jobs".
   */
  create?: boolean;
  /** told when a new database file named by SLUICE_STORE was created */
  onCreate?: (file: string) => void;
  log?: (line: string) => void;
  /** workers of this root work for this server (`sluice worker --url`) instead of a store here */
  server?: { url: string; token?: string | undefined };
}

/** What a worker of this process is given beyond what the root supplies (store, registry, files, tmpdir, policy). */
export type RootWorkerOptions = Omit<WorkerOptions, 'store' | 'registry' | 'files' | 'tmpdir' | 'policy'>;

/**
 * The one composition root of a Sluice process (a CLI command, `sluice worker`, `sluice serve`,
 * `openLocal`): it builds what the configuration names (the store, the job registry and its `js`
 * pool, the file store clients, workers, a server's listeners) and owns their lifetimes, so that
 * one `close()` ends them all in order: listeners and streams first, then workers (units given
 * back), the store, and last the children and helpers jobs use. The store is opened on first use:
 * `sluice batch` needs none.
 */
export class Root {
  readonly jsPool: JsPool;
  readonly files: JobFiles;
  readonly registry: Registry;
  readonly policy: Policy;
  private storeOpening: Promise<Store> | undefined;
  private readonly workers: Worker[] = [];
  /** a server's listeners, streams and timers: closed first, newest first */
  private readonly owned: Array<() => Promise<void> | void> = [];
  private closing: Promise<void> | undefined;

  constructor(
    readonly config: Config,
    private readonly options: RootOptions = {},
  ) {
    this.jsPool = new JsPool({ maxIdle: config.jsPoolIdle, passEnv: config.jobEnv });
    this.registry = builtinRegistry({ jsPool: this.jsPool, pluginModules: config.plugins, passEnv: config.jobEnv });
    this.files = new JobFiles({ url: config.files.url, token: config.files.clientToken, cacheDir: config.files.cacheDir, cacheBytes: config.files.cacheBytes, gzip: config.files.gzip });
    this.policy = { ...DEFAULT_POLICY, halfLifeMs: config.halfLifeMs };
    // The sandbox is one per process (its served helper, its probe): it takes this root's settings.
    configureSandbox(config.sandbox);
  }

  /** The store the configuration names, opened once. */
  store(): Promise<Store> {
    return (this.storeOpening ??= openStore(this.config.store, {
      ...(this.options.create === undefined ? {} : { create: this.options.create }),
      ...(this.options.onCreate ? { onCreate: this.options.onCreate } : {}),
      halfLifeMs: this.config.halfLifeMs,
      liveWorkerMs: this.config.leaseMs,
      maxLost: this.config.maxLost,
      retentionMs: this.config.retentionMs,
      maxEnvironBytes: this.config.maxEnvironBytes,
    }));
  }

  /** The service over the store; its `close()` closes this root. A server passes its address and its hub. */
  async service(options: { publicUrl?: string | null; hub?: EventHub } = {}): Promise<LocalService> {
    return new LocalService(await this.store(), {
      registry: this.registry,
      files: this.files.access,
      leaseMs: this.config.leaseMs,
      policy: this.policy,
      defaultOwner: this.config.defaultOwner,
      tmpdir: this.config.tmpdir,
      ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
      ...(options.hub ? { hub: options.hub } : {}),
      onClose: () => this.close(),
    });
  }

  /** One reader of the event log for the many followers of a server (closed with the root). */
  async hub(onEvents?: (events: StoreEvent[]) => void): Promise<EventHub> {
    const hub = new EventHub(await this.store(), { ...(this.options.log ? { log: this.options.log } : {}), ...(onEvents ? { onEvents } : {}) });
    await hub.start();
    this.own(() => hub.close());
    return hub;
  }

  /** A worker on this root's store (or its server's), started; `close()` stops it (grace as given there). */
  async worker(options: RootWorkerOptions): Promise<Worker> {
    const server = this.options.server;
    const worker = new Worker({
      ...options,
      store: server ? workerStore(server.url, { token: server.token }) : await this.store(),
      registry: this.registry,
      files: this.files.access,
      tmpdir: this.config.tmpdir,
      policy: this.policy,
      leaseMs: options.leaseMs ?? this.config.leaseMs,
      ...(this.options.log && !options.log ? { log: this.options.log } : {}),
    });
    this.jsPool.keepIdle(worker.concurrency);
    this.workers.push(worker);
    await worker.start();
    return worker;
  }

  /** Something this root closes first (a listener, a stream, a sender), newest first. */
  own(close: () => Promise<void> | void): void {
    this.owned.push(close);
  }

  /**
   * Ends everything, once (later calls wait for the first): owned listeners, then workers (running
   * units get `graceMs`, then are given back), the store, the `js` children, file clients and the
   * sandbox helper.
   */
  close(options: { graceMs?: number } = {}): Promise<void> {
    return (this.closing ??= this.closeOnce(options.graceMs ?? 0));
  }

  private async closeOnce(graceMs: number): Promise<void> {
    for (const close of this.owned.splice(0).reverse()) await settle(close);
    await Promise.all(this.workers.splice(0).map((w) => settle(() => w.stop(graceMs))));
    if (this.storeOpening) {
      const opening = this.storeOpening;
      await settle(async () => (await opening).close());
    }
    this.jsPool.close();
    this.files.close();
    helperServer.close();
  }
}

/** A part that fails to close must not keep the others open. */
async function settle(close: () => Promise<unknown> | unknown): Promise<void> {
  try {
    await close();
  } catch {
    // closing what is already gone
  }
}
