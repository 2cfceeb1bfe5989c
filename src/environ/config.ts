import os from 'node:os';
import path from 'node:path';
import { UsageError } from './errors.js';
import { defaultUser } from './owner.js';
import { parseDuration } from './time.js';

/**
 * Every setting Sluice reads from its environment, read once (by `readConfig`, called by the
 * composition roots: the CLI's commands, `sluice serve`, `openLocal`) into one typed object that is
 * passed down. No module reads `process.env` on its own. A mistyped value is a one-line error
 * naming the variable, never a silent default.
 */

/** Where the jobs are kept (SLUICE_STORE). */
export type StoreLocation =
  | { kind: 'sqlite'; file: string; /** named by SLUICE_STORE (not the default under SLUICE_HOME) */ explicit: boolean }
  | { kind: 'postgres'; url: string };

/** The file store as jobs and `sluice files` reach it (docs/files.md). */
export interface FilesConfig {
  /** SLUICE_FILES_URL, else $SLUICE_URL/files: the file store jobs use when their environ names none */
  url: string | undefined;
  /** SLUICE_FILES_TOKEN: what a served file store requires */
  token: string | undefined;
  /** what clients send: SLUICE_FILES_TOKEN, else SLUICE_TOKEN when the store is $SLUICE_URL/files */
  clientToken: string | undefined;
  /** SLUICE_FILES_ROOT: where `sluice files serve` and `sluice serve` keep blobs */
  root: string;
  /** SLUICE_FILES_CACHE: the client cache folder */
  cacheDir: string;
  /** SLUICE_FILES_CACHE_SIZE: the cache's size cap, bytes */
  cacheBytes: number;
  /** SLUICE_FILES_GZIP: compress transfers (auto: only to another machine) */
  gzip: boolean | 'auto';
}

/**
 * How programs are run (docs/sandbox.md, "Configuration"). The composition root hands these to
 * src/sandbox (`configureSandbox`), which reads no variable itself.
 */
export interface SandboxConfig {
  /** SLUICE_SANDBOX=off: refuse sandboxed runs (tier C); unsafe-exec still runs */
  off: boolean;
  /** SLUICE_CGROUPS=off: no per-run cgroups (tier B) */
  cgroups: boolean;
  /** SLUICE_SANDBOX_UID: the host uid and gid sandboxed programs run as (when Sluice runs as root) */
  uid: number;
  /** SLUICE_SANDBOX_PROC=1: a /proc in every sandbox, not only the JVM's */
  proc: boolean;
  /** SLUICE_MKE2FS: mke2fs, which makes the run disks' templates (default: found on PATH, /usr/sbin, /sbin) */
  mke2fs: string | undefined;
  /** SLUICE_SIO2JAIL_EVENT: what sio2jail-exec counts: hardware instructions, or the software task-clock (tests on machines without a PMU) */
  sio2jailEvent: 'instructions' | 'task-clock';
  /** SLUICE_TMPDIR: the run disks live under it (sluice-disks/), as the job folders do */
  tmpdir: string | undefined;
  /** PATH, where host tools (mke2fs) are looked for before /usr/sbin and /sbin */
  searchPath: string[];
}

export const DEFAULT_SANDBOX: Readonly<SandboxConfig> = Object.freeze({ off: false, cgroups: true, uid: 65534, proc: false, mke2fs: undefined, sio2jailEvent: 'instructions', tmpdir: undefined, searchPath: [] });

/** What `sluice serve` needs beyond the rest (docs/api.md). */
export interface ServerConfig {
  /** SLUICE_PUBLIC_URL: the address browsers use (moi's `url` of every record); default the listening address */
  publicUrl: string | undefined;
  /** SLUICE_MAX_BODY: the largest request body, bytes */
  maxBodyBytes: number;
  /** SLUICE_MAX_BATCH: the most jobs in one bulk submit, and inputs in one map job */
  maxBatch: number;
  /** SLUICE_CORS_ORIGINS: origins allowed to call the API from a browser (none: CORS off) */
  corsOrigins: string[];
  /** SLUICE_AUTH_FAILURES: wrong tokens one address may send per minute before it is refused (429) */
  authFailuresPerMinute: number;
  /** SLUICE_MAX_STREAMS: live streams (SSE and WebSocket) one user may hold open at once */
  maxStreamsPerUser: number;
  /** SLUICE_SAFE_JOBS: plugin job types and filters an admin marks safe for the `user` role */
  safeJobs: string[];
  /** SLUICE_CALLBACK_ATTEMPTS: tries of a callback POST before it is given up */
  callbackAttempts: number;
  /** SLUICE_STREAM_HEARTBEAT: how often an idle stream says it is alive, ms */
  heartbeatMs: number;
}

export interface Config {
  /** SLUICE_HOME: the embedded database, caches and the file store live here */
  home: string;
  store: StoreLocation;
  /** SLUICE_USER: the default owner of submitted jobs, as given */
  user: string | undefined;
  /** who owns a job submitted here without an owner: SLUICE_USER, the login name unless root, else the host name */
  defaultOwner: string;
  /** SLUICE_URL and SLUICE_TOKEN: a Sluice server that commands talk to instead of a store */
  url: string | undefined;
  token: string | undefined;
  /** SLUICE_LEASE_MS: how long a worker's claim lasts without a heartbeat */
  leaseMs: number;
  /** SLUICE_HALF_LIFE_HOURS: fair-share usage half-life */
  halfLifeMs: number;
  /** SLUICE_RETENTION: how long ended jobs and old events are kept */
  retentionMs: number;
  /** SLUICE_PRUNE_EVERY: how often workers and servers prune in the background (0: never) */
  pruneEveryMs: number;
  /** SLUICE_MAX_ENVIRON: the largest environ accepted, bytes of JSON */
  maxEnvironBytes: number;
  /** SLUICE_MAX_LOST: how many times a unit may lose its worker before its job fails */
  maxLost: number;
  /** SLUICE_PLUGINS: modules (paths or package names) exporting `jobs` and/or `filters` */
  plugins: string[];
  /** SLUICE_TMPDIR: where per-run working folders are made (default: the system's) */
  tmpdir: string | undefined;
  /** SLUICE_JS_POOL_IDLE: idle `js` children kept (default: 4, at least a worker's concurrency) */
  jsPoolIdle: number | undefined;
  /** SLUICE_JOB_ENV: extra variable names passed to `system` and `js` jobs */
  jobEnv: string[];
  files: FilesConfig;
  server: ServerConfig;
  sandbox: SandboxConfig;
  /** SLUICE_DEBUG: print stacks with internal errors */
  debug: boolean;
  /** SLUICE_SMTP_URL: where e-mail goes (smtp:// or smtps://, auth in the URL); unset: no mail is sent */
  smtpUrl: string | undefined;
  /** SLUICE_SMTP_USER and SLUICE_SMTP_PASSWORD: the mail server's login, when it is not in the URL */
  smtpAuth: { user: string; pass: string } | undefined;
  /** SLUICE_MAIL_FROM: the sender of Sluice's mail */
  mailFrom: string;
  /** SLUICE_DIGEST_AT: local time of day the daily digests go out */
  digestAt: { hour: number; minute: number };
}

export interface Setting {
  env: string;
  meaning: string;
  default: string;
}

type Env = Record<string, string | undefined>;

/** The defaults, in one place: the layers below take them when a caller passes no setting. */
export const DEFAULTS = Object.freeze({
  leaseMs: 15_000,
  halfLifeMs: 24 * 3_600_000,
  retentionMs: 30 * 86_400_000,
  pruneEveryMs: 3_600_000,
  maxEnvironBytes: 4 << 20,
  maxLost: 10,
  jsPoolIdle: 4,
  filesCacheBytes: 10 * 1024 ** 3,
  maxBodyBytes: 16 << 20,
  maxBatch: 10_000,
  authFailuresPerMinute: 20,
  maxStreamsPerUser: 100,
  callbackAttempts: 20,
  heartbeatMs: 15_000,
});

/** The settings, in the order `--help` and docs/cli.md list them. */
export const SETTINGS: readonly Setting[] = [
  { env: 'SLUICE_HOME', meaning: 'folder of the embedded database, caches and file store', default: '~/.sluice' },
  { env: 'SLUICE_STORE', meaning: 'the store: a SQLite file path, sqlite:PATH, or postgres://…', default: 'SQLite in SLUICE_HOME' },
  { env: 'SLUICE_URL', meaning: 'a Sluice server: commands talk to it instead of a store (as --url)', default: 'unset' },
  { env: 'SLUICE_TOKEN', meaning: 'the token for SLUICE_URL (as --token)', default: 'unset' },
  { env: 'SLUICE_USER', meaning: 'default owner of submitted jobs', default: 'the login name unless root, else the host name' },
  { env: 'SLUICE_LEASE_MS', meaning: "a worker's claim lapses after this many ms without a heartbeat", default: '15000' },
  { env: 'SLUICE_HALF_LIFE_HOURS', meaning: 'fair-share usage half-life, hours', default: '24' },
  { env: 'SLUICE_RETENTION', meaning: 'ended jobs and events older than this are pruned (a plain number is days; 12h, 7d, 30m)', default: '30' },
  { env: 'SLUICE_PRUNE_EVERY', meaning: 'how often workers and servers prune in the background (30m, 1h; 0: never)', default: '1h' },
  { env: 'SLUICE_MAX_ENVIRON', meaning: 'largest environ accepted, bytes of JSON (files belong in the file store)', default: String(DEFAULTS.maxEnvironBytes) },
  { env: 'SLUICE_MAX_LOST', meaning: 'how many times a unit may lose its worker (kill -9, lost lease) before its job fails', default: '10' },
  { env: 'SLUICE_PLUGINS', meaning: 'comma-separated plugin modules (paths or package names) exporting jobs and/or filters', default: 'none' },
  { env: 'SLUICE_TMPDIR', meaning: 'where per-run working folders are made', default: 'the system temp folder' },
  { env: 'SLUICE_JS_POOL_IDLE', meaning: "idle js child processes kept (a child is reused only for its owner's next job)", default: "4, at least the worker's concurrency" },
  { env: 'SLUICE_JOB_ENV', meaning: 'extra variable names (comma-separated) passed to system and js jobs; SLUICE_* never', default: 'none' },
  { env: 'SLUICE_FILES_URL', meaning: 'the file store jobs and sluice files use', default: '$SLUICE_URL/files when SLUICE_URL is set' },
  { env: 'SLUICE_FILES_TOKEN', meaning: 'bearer token for the file store', default: 'SLUICE_TOKEN with $SLUICE_URL/files' },
  { env: 'SLUICE_FILES_ROOT', meaning: 'where a served file store keeps its blobs', default: '$SLUICE_HOME/files' },
  { env: 'SLUICE_FILES_CACHE', meaning: "the file store client's cache folder", default: '$SLUICE_HOME/cache' },
  { env: 'SLUICE_FILES_CACHE_SIZE', meaning: 'the cache size cap (10G, 512M)', default: '10G' },
  { env: 'SLUICE_FILES_GZIP', meaning: 'compress file transfers: 1, 0 (default: only to another machine)', default: 'auto' },
  { env: 'SLUICE_PUBLIC_URL', meaning: 'the address browsers use: the url of every record, links in mail', default: 'serve: the listening address; mail: no links' },
  { env: 'SLUICE_MAX_BODY', meaning: 'serve: the largest request body, bytes', default: String(DEFAULTS.maxBodyBytes) },
  { env: 'SLUICE_MAX_BATCH', meaning: 'serve: the most jobs in one bulk submit and inputs in one map job', default: String(DEFAULTS.maxBatch) },
  { env: 'SLUICE_CORS_ORIGINS', meaning: 'serve: comma-separated origins allowed to call the API from a browser', default: 'none (CORS off)' },
  { env: 'SLUICE_AUTH_FAILURES', meaning: 'serve: wrong tokens an address may send per minute before it gets 429', default: String(DEFAULTS.authFailuresPerMinute) },
  { env: 'SLUICE_MAX_STREAMS', meaning: 'serve: live streams (SSE, WebSocket) one user may hold open', default: String(DEFAULTS.maxStreamsPerUser) },
  { env: 'SLUICE_SAFE_JOBS', meaning: 'serve: comma-separated plugin job types and filters the user role may submit', default: 'none' },
  { env: 'SLUICE_CALLBACK_ATTEMPTS', meaning: 'serve: tries of a callback POST before it is given up', default: String(DEFAULTS.callbackAttempts) },
  { env: 'SLUICE_STREAM_HEARTBEAT', meaning: 'serve: how often an idle stream sends a heartbeat (15s)', default: '15s' },
  { env: 'SLUICE_SANDBOX', meaning: 'off: refuse sandboxed runs (exec and the like answer SE; unsafe-exec still runs)', default: 'on' },
  { env: 'SLUICE_CGROUPS', meaning: 'off: no per-run cgroups (memory measured by RSS polling)', default: 'on' },
  { env: 'SLUICE_SANDBOX_UID', meaning: 'the host uid sandboxed programs run as (Sluice runs as root)', default: String(DEFAULT_SANDBOX.uid) },
  { env: 'SLUICE_SANDBOX_PROC', meaning: "1: a /proc in every sandbox, not only the JVM's", default: '0' },
  { env: 'SLUICE_MKE2FS', meaning: "mke2fs, which makes the run disks' templates", default: 'found on PATH, /usr/sbin, /sbin' },
  { env: 'SLUICE_SIO2JAIL_EVENT', meaning: 'what sio2jail-exec counts: instructions (a hardware counter) or task-clock (software, for machines without a PMU)', default: 'instructions' },
  { env: 'SLUICE_DEBUG', meaning: 'set to 1 to print stacks with internal errors', default: 'unset' },
  { env: 'SLUICE_SMTP_URL', meaning: 'where e-mail goes: smtp://[user:pass@]host[:port] or smtps://…', default: 'unset: no mail' },
  { env: 'SLUICE_SMTP_USER', meaning: "the mail server's login, when it is not in SLUICE_SMTP_URL (with SLUICE_SMTP_PASSWORD)", default: 'unset' },
  { env: 'SLUICE_SMTP_PASSWORD', meaning: "the mail server's password, with SLUICE_SMTP_USER", default: 'unset' },
  { env: 'SLUICE_MAIL_FROM', meaning: "the sender of Sluice's mail", default: 'sluice@HOSTNAME' },
  { env: 'SLUICE_DIGEST_AT', meaning: 'local time of day the daily digests go out', default: '08:00' },
];

export function readConfig(env: Env = process.env): Config {
  const home = env.SLUICE_HOME || path.join(os.homedir(), '.sluice');
  const url = optionalUrl(env, 'SLUICE_URL');
  const token = env.SLUICE_TOKEN || undefined;
  return {
    home,
    store: storeLocation(env.SLUICE_STORE, home),
    user: env.SLUICE_USER || undefined,
    defaultOwner: defaultUser(env.SLUICE_USER || undefined, env),
    url,
    token,
    leaseMs: positiveNumber(env, 'SLUICE_LEASE_MS', DEFAULTS.leaseMs),
    halfLifeMs: positiveNumber(env, 'SLUICE_HALF_LIFE_HOURS', DEFAULTS.halfLifeMs / 3_600_000) * 3_600_000,
    retentionMs: env.SLUICE_RETENTION ? parseDuration(env.SLUICE_RETENTION, 'SLUICE_RETENTION', 'd') : DEFAULTS.retentionMs,
    pruneEveryMs: env.SLUICE_PRUNE_EVERY ? parseDuration(env.SLUICE_PRUNE_EVERY, 'SLUICE_PRUNE_EVERY', 's') : DEFAULTS.pruneEveryMs,
    maxEnvironBytes: positiveNumber(env, 'SLUICE_MAX_ENVIRON', DEFAULTS.maxEnvironBytes, true),
    maxLost: positiveNumber(env, 'SLUICE_MAX_LOST', DEFAULTS.maxLost, true),
    plugins: list(env.SLUICE_PLUGINS),
    tmpdir: env.SLUICE_TMPDIR || undefined,
    jsPoolIdle: env.SLUICE_JS_POOL_IDLE ? wholeNumber(env, 'SLUICE_JS_POOL_IDLE') : undefined,
    jobEnv: list(env.SLUICE_JOB_ENV).filter((name) => !name.startsWith('SLUICE_')),
    files: filesConfig(env, home, url, token),
    server: serverConfig(env),
    sandbox: sandboxConfig(env),
    debug: Boolean(env.SLUICE_DEBUG && env.SLUICE_DEBUG !== '0'),
    smtpUrl: env.SLUICE_SMTP_URL ? smtpUrl(env.SLUICE_SMTP_URL) : undefined,
    smtpAuth: smtpAuth(env),
    mailFrom: env.SLUICE_MAIL_FROM || `sluice@${os.hostname()}`,
    digestAt: env.SLUICE_DIGEST_AT ? timeOfDay(env.SLUICE_DIGEST_AT, 'SLUICE_DIGEST_AT') : { hour: 8, minute: 0 },
  };
}

function smtpUrl(text: string): string {
  if (!/^smtps?:\/\/[^/\s]+/.test(text)) throw new UsageError(`SLUICE_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…, got "${text.replace(/:[^:@/]*@/, ':***@')}"`);
  return text;
}

function smtpAuth(env: Env): { user: string; pass: string } | undefined {
  const user = env.SLUICE_SMTP_USER;
  const pass = env.SLUICE_SMTP_PASSWORD;
  if (!user && !pass) return undefined;
  if (!user || !pass) throw new UsageError('SLUICE_SMTP_USER and SLUICE_SMTP_PASSWORD go together: set both or neither');
  return { user, pass };
}

function timeOfDay(text: string, name: string): { hour: number; minute: number } {
  const m = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59) throw new UsageError(`${name} must be a local time of day like 08:00, got "${text}"`);
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

function filesConfig(env: Env, home: string, url: string | undefined, token: string | undefined): FilesConfig {
  const own = optionalUrl(env, 'SLUICE_FILES_URL');
  const gzip = env.SLUICE_FILES_GZIP;
  if (gzip && !['1', '0', 'true', 'false', 'auto'].includes(gzip)) throw new UsageError(`SLUICE_FILES_GZIP must be 1, 0 or auto, got "${gzip}"`);
  return {
    url: own ?? (url ? `${url.replace(/\/+$/, '')}/files` : undefined),
    token: env.SLUICE_FILES_TOKEN || undefined,
    clientToken: env.SLUICE_FILES_TOKEN || (own ? undefined : token),
    root: path.resolve(env.SLUICE_FILES_ROOT || path.join(home, 'files')),
    cacheDir: path.resolve(env.SLUICE_FILES_CACHE || path.join(home, 'cache')),
    cacheBytes: env.SLUICE_FILES_CACHE_SIZE ? parseSize(env.SLUICE_FILES_CACHE_SIZE, 'SLUICE_FILES_CACHE_SIZE') : DEFAULTS.filesCacheBytes,
    gzip: gzip === '1' || gzip === 'true' ? true : gzip === '0' || gzip === 'false' ? false : 'auto',
  };
}

function serverConfig(env: Env): ServerConfig {
  const origins = list(env.SLUICE_CORS_ORIGINS);
  for (const origin of origins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) throw new UsageError(`SLUICE_CORS_ORIGINS: "${origin}" is not an origin like https://app.example.org`);
  }
  return {
    publicUrl: optionalUrl(env, 'SLUICE_PUBLIC_URL')?.replace(/\/+$/, ''),
    maxBodyBytes: positiveNumber(env, 'SLUICE_MAX_BODY', DEFAULTS.maxBodyBytes, true),
    maxBatch: positiveNumber(env, 'SLUICE_MAX_BATCH', DEFAULTS.maxBatch, true),
    corsOrigins: origins,
    authFailuresPerMinute: positiveNumber(env, 'SLUICE_AUTH_FAILURES', DEFAULTS.authFailuresPerMinute, true),
    maxStreamsPerUser: positiveNumber(env, 'SLUICE_MAX_STREAMS', DEFAULTS.maxStreamsPerUser, true),
    safeJobs: list(env.SLUICE_SAFE_JOBS),
    callbackAttempts: positiveNumber(env, 'SLUICE_CALLBACK_ATTEMPTS', DEFAULTS.callbackAttempts, true),
    heartbeatMs: env.SLUICE_STREAM_HEARTBEAT ? parseDuration(env.SLUICE_STREAM_HEARTBEAT, 'SLUICE_STREAM_HEARTBEAT') : DEFAULTS.heartbeatMs,
  };
}

/** SLUICE_STORE as INTERFACE.md accepts it: unset, a file path, sqlite:PATH, postgres:// or postgresql:// URLs. */
export function storeLocation(text: string | undefined, home: string): StoreLocation {
  if (!text) return { kind: 'sqlite', file: path.join(home, 'sluice.db'), explicit: false };
  if (/^postgres(ql)?:\/\//.test(text)) return { kind: 'postgres', url: text };
  if (text.startsWith('sqlite:')) {
    const file = text.slice('sqlite:'.length);
    if (!file) throw new UsageError('SLUICE_STORE=sqlite: needs a file path after the colon');
    return { kind: 'sqlite', file: path.resolve(file), explicit: true };
  }
  // Anything with a scheme is a mistyped or unsupported URL, never a file name to create.
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(text)) {
    throw new UsageError(`SLUICE_STORE="${text}" is not a store Sluice knows; give a SQLite file path, sqlite:PATH, or a postgres:// or postgresql:// URL`);
  }
  return { kind: 'sqlite', file: path.resolve(text), explicit: true };
}

/** An http(s) URL a setting or option names, checked at once (a typo is an error, not a failed request later). */
export function parseServerUrl(text: string, what: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what} must be an http:// or https:// URL, got "${text}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) throw new UsageError(`${what} must be an http:// or https:// URL, got "${text}"`);
  return text.replace(/\/+$/, '');
}

function optionalUrl(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw ? parseServerUrl(raw, name) : undefined;
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A size such as `10G`, `512M`, `1048576`, in bytes. */
export function parseSize(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$/i.exec(text);
  if (!m) throw new UsageError(`${what} must be a size such as 10G, 512M or 1048576, got "${text}"`);
  const power = ' kmgt'.indexOf((m[2] || ' ').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}

function sandboxConfig(env: Env): SandboxConfig {
  const uid = env.SLUICE_SANDBOX_UID ? wholeNumber(env, 'SLUICE_SANDBOX_UID') : DEFAULT_SANDBOX.uid;
  if (uid === 0 || uid > 0xfffffffe) throw new UsageError(`SLUICE_SANDBOX_UID must be a uid other than root's (1 to 4294967294), got "${env.SLUICE_SANDBOX_UID}"`);
  return {
    off: oneOf(env, 'SLUICE_SANDBOX', ['on', 'off'], 'on') === 'off',
    cgroups: oneOf(env, 'SLUICE_CGROUPS', ['on', 'off'], 'on') === 'on',
    uid,
    proc: oneOf(env, 'SLUICE_SANDBOX_PROC', ['0', '1'], '0') === '1',
    mke2fs: env.SLUICE_MKE2FS || undefined,
    sio2jailEvent: oneOf(env, 'SLUICE_SIO2JAIL_EVENT', ['instructions', 'task-clock'], 'instructions'),
    tmpdir: env.SLUICE_TMPDIR || undefined,
    searchPath: (env.PATH ?? '').split(':').filter(Boolean),
  };
}

/** A variable that takes one of a few words (unset or empty: the default). */
function oneOf<T extends string>(env: Env, name: string, words: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(words as readonly string[]).includes(raw)) throw new UsageError(`${name} must be ${words.join(' or ')}, got "${raw}"`);
  return raw as T;
}

function wholeNumber(env: Env, name: string): number {
  const raw = env[name]!;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a whole number, got "${raw}"`);
  return n;
}

function positiveNumber(env: Env, name: string, fallback: number, integer = false): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} must be a ${integer ? 'whole ' : ''}number above 0, got "${raw}"`);
  }
  return n;
}
