import type { Command } from 'commander';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, UsageError } from '../../environ/index.js';
import { FileTracker, httpDate, parseVersion, type FileServer } from '../../files/index.js';
import { printJson } from '../io.js';
import { cliConfig } from '../service.js';

const DEFAULT_URL = 'http://127.0.0.1:9999';

interface ClientOpts {
  url?: string;
  token?: string;
}

/** A tracker for one command; `--no-cache` (or a command that must see the server) skips the cache. */
function tracker(opts: ClientOpts & { cache?: boolean }): FileTracker {
  const files = cliConfig().files;
  const token = opts.token || (opts.url ? undefined : files.clientToken);
  return new FileTracker({
    url: opts.url || files.url || DEFAULT_URL,
    ...(token ? { token } : {}),
    cacheDir: opts.cache === false ? null : files.cacheDir,
    cacheMaxBytes: files.cacheBytes,
    gzip: files.gzip,
  });
}

async function using<T>(t: FileTracker, fn: (t: FileTracker) => Promise<T>): Promise<T> {
  try {
    return await fn(t);
  } finally {
    t.close();
  }
}

const clientOptions = (cmd: Command) =>
  cmd
    .option('--url <url>', `the file store (default: SLUICE_FILES_URL, else $SLUICE_URL/files, else ${DEFAULT_URL})`)
    .option('--token <token>', 'bearer token (default: SLUICE_FILES_TOKEN, or SLUICE_TOKEN with $SLUICE_URL/files)');

/** `sluice files serve|put|get|ls|rm|stat`: the file store (filetracker protocol v2) and its client. */
export function register(program: Command): void {
  const files = program.command('files').description('the file store: serve it, or put, get, list, remove and stat files in it (docs/files.md)');

  files
    .command('serve')
    .description('serve a file store (filetracker protocol v2) until SIGINT/SIGTERM')
    .option('--port <port>', 'TCP port (0: any free port)', '9999')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--root <dir>', 'where blobs and the index live (default: SLUICE_FILES_ROOT, else $SLUICE_HOME/files)')
    .option('--token <token>', 'require "Authorization: Bearer TOKEN" (default: SLUICE_FILES_TOKEN; needed off loopback)')
    .option('--insecure', 'allow serving on a non-loopback address without a token')
    .option('--no-fsync', 'do not fsync uploads and commits (faster; a power cut may lose recent uploads)')
    .option('--fsck', 'at start, remove blobs that no name references (left by a crash) and report missing ones')
    .option('--log', 'log every request (JSON lines on stderr)')
    .action(async (opts: { port: string; host: string; root?: string; token?: string; insecure?: boolean; fsync: boolean; fsck?: boolean; log?: boolean }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number, got "${opts.port}"`);
      const root = opts.root ? path.resolve(opts.root) : cliConfig().files.root;
      const token = opts.token || cliConfig().files.token;
      const { startFileServer } = await import('../../files/server.js');
      const server: FileServer = await startFileServer({
        root,
        port,
        host: opts.host,
        fsync: opts.fsync,
        ...(token ? { token } : {}),
        ...(opts.insecure ? { insecure: true } : {}),
        ...(opts.log ? { logger: true } : {}),
      });
      if (opts.fsck) {
        const { orphansRemoved, missing } = server.storage.fsck();
        process.stderr.write(`sluice files: fsck removed ${orphansRemoved} orphan blob(s); ${missing.length} referenced blob(s) missing${missing.length ? `: ${missing.join(' ')}` : ''}\n`);
      }
      // Listen for the signals before saying so: a SIGTERM that comes right after the line must stop us cleanly.
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      process.stderr.write(`sluice files: serving ${root} at ${server.url}${token ? ' (token required)' : ''}\n`);
      await stopped;
      await server.close();
    });

  clientOptions(
    files
      .command('put')
      .argument('<local>', 'the local file to upload')
      .argument('<name>', 'its name in the store: /path, or /path@VERSION (an older version than the stored one changes nothing)')
      .description('upload a file; prints its versioned name')
      .option('--local-only', "keep it only in this machine's cache (no upload)"),
  ).action(async (local: string, name: string, opts: ClientOpts & { localOnly?: boolean }) => {
    await using(tracker(opts), async (t) => {
      const stored = await t.put(path.resolve(local), name, { toRemote: !opts.localOnly });
      process.stdout.write(`${stored}\n`);
    });
  });

  clientOptions(
    files
      .command('get')
      .argument('<name>', 'the name in the store: /path (current version) or /path@VERSION')
      .argument('[dest]', 'where to write it ("-": standard output; default: its base name here)')
      .description('download a file (through the local cache); prints its versioned name on stderr')
      .option('--no-cache', 'bypass the local cache'),
  ).action(async (name: string, dest: string | undefined, opts: ClientOpts & { cache: boolean }) => {
    if (dest === '-') {
      await using(tracker({ ...opts, cache: false }), async (t) => {
        const { stream } = await t.client.open(name);
        await pipeline(stream, process.stdout);
      });
      return;
    }
    const target = path.resolve(dest ?? path.basename(name.replace(/@\d+$/, '')));
    await using(tracker(opts), async (t) => {
      const got = await t.get(name, target);
      process.stderr.write(`${got.name}${got.fromCache ? ' (from the cache)' : ''} -> ${target}\n`);
    });
  });

  clientOptions(
    files
      .command('ls')
      .argument('[dir]', 'the folder to list, recursively', '/')
      .description('list the files under a folder: version, size and path')
      .option('--cutoff <version>', 'only files whose version is at most this (seconds or an RFC 2822 date)')
      .option('--json', 'print JSON'),
  ).action(async (dir: string, opts: ClientOpts & { cutoff?: string; json?: boolean }) => {
    const cutoff = opts.cutoff === undefined ? undefined : parseVersion(opts.cutoff, '--cutoff');
    await using(tracker({ ...opts, cache: false }), async (t) => {
      const entries = await t.client.list(dir, cutoff);
      if (opts.json) return printJson(entries);
      for (const e of entries) process.stdout.write(`${httpDate(e.version)}\t${String(e.size).padStart(12)}\t${e.path}\n`);
    });
  });

  clientOptions(
    files
      .command('rm')
      .argument('<name>', '/path (any version) or /path@VERSION (only if the stored version is not newer)')
      .description('remove a file'),
  ).action(async (name: string, opts: ClientOpts) => {
    await using(tracker({ ...opts, cache: false }), async (t) => {
      const { removed, file } = await t.client.remove(name);
      if (removed) process.stdout.write(`removed ${file.name}\n`);
      else process.stdout.write(`kept ${file.name}: the stored version is newer\n`);
    });
  });

  clientOptions(
    files
      .command('stat')
      .argument('<name>', '/path or /path@VERSION')
      .description('print what the store holds under a name (one request, no download)')
      .option('--json', 'print JSON'),
  ).action(async (name: string, opts: ClientOpts & { json?: boolean }) => {
    await using(tracker({ ...opts, cache: false }), async (t) => {
      const file = await t.client.stat(name);
      if (!file) {
        throw new NotFoundError(`no file "${name}" in the file store`);
      }
      if (opts.json) return printJson(file);
      process.stdout.write(`name    : ${file.name}\nversion : ${file.version} (${httpDate(file.version)})\nsize    : ${file.size}\nsha256  : ${file.sha256}\n`);
    });
  });
}
