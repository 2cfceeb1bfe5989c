import os from 'node:os';
import path from 'node:path';
import { UsageError } from './errors.js';
import { parseDuration } from './time.js';

/**
 * Every setting Sluice reads from its environment, read once (by `readConfig`, called by the
 * composition roots: the CLI's commands and `sluice serve`) into one typed object that is passed
 * down. No module reads `process.env` on its own. A mistyped value is a one-line error naming the
 * variable, never a silent default.
 */

/** Where the jobs are kept (SLUICE_STORE). */
export type StoreLocation =
  | { kind: 'sqlite'; file: string; /** named by SLUICE_STORE (not the default under SLUICE_HOME) */ explicit: boolean }
  | { kind: 'postgres'; url: string };

export interface Config {
  /** SLUICE_HOME: the embedded database, caches and the file store live here */
  home: string;
  store: StoreLocation;
  /** SLUICE_USER: the default owner of submitted jobs */
  user: string | undefined;
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
  /** SLUICE_PUBLIC_URL: where people reach this Sluice's jobs (links in mail, moi's url); unset: no links */
  publicUrl: string | undefined;
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
});

/** The settings, in the order `--help` and docs/cli.md list them. */
export const SETTINGS: readonly Setting[] = [
  { env: 'SLUICE_HOME', meaning: 'folder of the embedded database, caches and file store', default: '~/.sluice' },
  { env: 'SLUICE_STORE', meaning: 'the store: a SQLite file path, sqlite:PATH, or postgres://…', default: 'SQLite in SLUICE_HOME' },
  { env: 'SLUICE_USER', meaning: 'default owner of submitted jobs', default: 'the login name unless root, else the host name' },
  { env: 'SLUICE_LEASE_MS', meaning: "a worker's claim lapses after this many ms without a heartbeat", default: '15000' },
  { env: 'SLUICE_HALF_LIFE_HOURS', meaning: 'fair-share usage half-life, hours', default: '24' },
  { env: 'SLUICE_RETENTION', meaning: 'ended jobs and events older than this are pruned (a plain number is days; 12h, 7d, 30m)', default: '30' },
  { env: 'SLUICE_PRUNE_EVERY', meaning: 'how often workers and servers prune in the background (30m, 1h; 0: never)', default: '1h' },
  { env: 'SLUICE_MAX_ENVIRON', meaning: 'largest environ accepted, bytes of JSON (files belong in the file store)', default: String(4 << 20) },
  { env: 'SLUICE_MAX_LOST', meaning: 'how many times a unit may lose its worker (kill -9, lost lease) before its job fails', default: '10' },
  { env: 'SLUICE_DEBUG', meaning: 'set to 1 to print stacks with internal errors', default: 'unset' },
  { env: 'SLUICE_SMTP_URL', meaning: 'where e-mail goes: smtp://[user:pass@]host[:port] or smtps://…', default: 'unset: no mail' },
  { env: 'SLUICE_SMTP_USER', meaning: "the mail server's login, when it is not in SLUICE_SMTP_URL (with SLUICE_SMTP_PASSWORD)", default: 'unset' },
  { env: 'SLUICE_SMTP_PASSWORD', meaning: "the mail server's password, with SLUICE_SMTP_USER", default: 'unset' },
  { env: 'SLUICE_MAIL_FROM', meaning: "the sender of Sluice's mail", default: 'sluice@HOSTNAME' },
  { env: 'SLUICE_DIGEST_AT', meaning: 'local time of day the daily digests go out', default: '08:00' },
  { env: 'SLUICE_PUBLIC_URL', meaning: "where people reach this Sluice's jobs (links in mail, moi's url)", default: 'unset' },
];

export function readConfig(env: Env = process.env): Config {
  const home = env.SLUICE_HOME || path.join(os.homedir(), '.sluice');
  return {
    home,
    store: storeLocation(env.SLUICE_STORE, home),
    user: env.SLUICE_USER || undefined,
    leaseMs: positiveNumber(env, 'SLUICE_LEASE_MS', DEFAULTS.leaseMs),
    halfLifeMs: positiveNumber(env, 'SLUICE_HALF_LIFE_HOURS', DEFAULTS.halfLifeMs / 3_600_000) * 3_600_000,
    retentionMs: env.SLUICE_RETENTION ? parseDuration(env.SLUICE_RETENTION, 'SLUICE_RETENTION', 'd') : DEFAULTS.retentionMs,
    pruneEveryMs: env.SLUICE_PRUNE_EVERY ? parseDuration(env.SLUICE_PRUNE_EVERY, 'SLUICE_PRUNE_EVERY', 's') : DEFAULTS.pruneEveryMs,
    maxEnvironBytes: positiveNumber(env, 'SLUICE_MAX_ENVIRON', DEFAULTS.maxEnvironBytes, true),
    maxLost: positiveNumber(env, 'SLUICE_MAX_LOST', DEFAULTS.maxLost, true),
    debug: Boolean(env.SLUICE_DEBUG && env.SLUICE_DEBUG !== '0'),
    smtpUrl: env.SLUICE_SMTP_URL ? smtpUrl(env.SLUICE_SMTP_URL) : undefined,
    smtpAuth: smtpAuth(env),
    mailFrom: env.SLUICE_MAIL_FROM || `sluice@${os.hostname()}`,
    digestAt: env.SLUICE_DIGEST_AT ? timeOfDay(env.SLUICE_DIGEST_AT, 'SLUICE_DIGEST_AT') : { hour: 8, minute: 0 },
    publicUrl: env.SLUICE_PUBLIC_URL ? publicUrl(env.SLUICE_PUBLIC_URL) : undefined,
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

function publicUrl(text: string): string {
  if (!/^https?:\/\/\S+$/.test(text)) throw new UsageError(`SLUICE_PUBLIC_URL must be an http:// or https:// URL, got "${text}"`);
  return text.replace(/\/+$/, '');
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

function positiveNumber(env: Env, name: string, fallback: number, integer = false): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} must be a ${integer ? 'whole ' : ''}number above 0, got "${raw}"`);
  }
  return n;
}
