import os from 'node:os';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Environ, JobContext } from '../environ/index.js';
import { AbortedError, UsageError } from '../environ/index.js';
import { jobEnv } from './jobEnv.js';
import { spawnReaped, stopTree } from './reaped.js';

/** Captured output beyond this is dropped (and said so), so a chatty command cannot flood the store. */
const DEFAULT_OUTPUT_LIMIT = 1 << 20;
/** Linux refuses to start a program with one environment string longer than this (MAX_ARG_STRLEN). */
const MAX_VARIABLE_BYTES = 128 * 1024;

/**
 * `system`: runs `cmd` with /bin/sh -c in the job's folder (moi's system_call), under the reaper,
 * so that every process it starts ends with it: when the shell exits, on abort, and when the
 * worker dies. Sets `stdout`, `stderr` and `return_code` (and `exit_signal`); a non-zero exit is a
 * FAILURE whose message carries both streams. The command sees the worker's allow-listed
 * environment (jobEnv.ts) plus its unit's variables, and a map unit's input on stdin.
 */
export function systemJob(passEnv: readonly string[] = []): (environ: Environ, ctx: JobContext) => Promise<Environ> {
  return (environ, ctx) => system(environ, ctx, passEnv);
}

async function system(environ: Environ, ctx: JobContext, passEnv: readonly string[]): Promise<Environ> {
  const cmd = environ.cmd;
  if (typeof cmd !== 'string' || cmd === '') throw new UsageError('system job needs "cmd" (a shell command)');
  const limit = typeof environ.output_limit === 'number' ? environ.output_limit : DEFAULT_OUTPUT_LIMIT;
  ctx.signal.throwIfAborted?.();
  const input = 'input' in environ ? JSON.stringify(environ.input ?? null) : undefined;
  // Control messages reach the command on fd 3, one JSON line each.
  const child = spawnReaped('/bin/sh', ['-c', cmd], { cwd: ctx.tmpdir, env: jobEnv(unitVariables(ctx, input), passEnv), stdio: ['pipe', 'pipe', 'pipe', 'pipe'] }, 'system jobs') as ChildProcessByStdio<Writable, Readable, Readable>;
  const control = child.stdio[3] as unknown as Writable;
  control.on('error', () => {});
  const stopForwarding = ctx.inbox.forward((message) => control.write(`${JSON.stringify(message)}\n`));
  // A command that does not read its input closes the pipe early; that is not an error.
  child.stdin.on('error', () => {});
  child.stdin.end(input === undefined ? '' : `${input}\n`);
  const stdout = new Capture(limit);
  const stderr = new Capture(limit);
  child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));
  const onAbort = () => stopTree(child);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    // 'close' comes after the reaper has exited, which it does only once no descendant is left.
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    environ.stdout = stdout.text();
    environ.stderr = stderr.text();
    environ.return_code = code ?? 128 + signalNumber(signal);
    if (signal) environ.exit_signal = signal;
    if (ctx.signal.aborted) throw new AbortedError();
    if (environ.return_code !== 0) {
      throw new Error(
        `command failed with exit code ${environ.return_code}${signal ? ` (${signal})` : ''}: ${cmd}\n` +
          `stdout:\n${environ.stdout}\nstderr:\n${environ.stderr}`,
      );
    }
    return environ;
  } finally {
    stopForwarding();
    control.end();
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The unit's own variables (INTERFACE.md): its job id and index when a worker runs it, and a map
 * unit's input as JSON text, unless that is too long for one variable (it is then on stdin only).
 */
function unitVariables(ctx: JobContext, input: string | undefined): Record<string, string> {
  const vars: Record<string, string> = {};
  if (ctx.identity) {
    vars.SLUICE_JOB_ID = ctx.identity.job;
    vars.SLUICE_UNIT_INDEX = String(ctx.identity.unit);
  }
  if (input !== undefined && Buffer.byteLength(input) + 'SLUICE_INPUT='.length < MAX_VARIABLE_BYTES) vars.SLUICE_INPUT = input;
  return vars;
}

class Capture {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      this.dropped += chunk.length;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
    this.dropped += chunk.length - kept.length;
  }

  text(): string {
    const body = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped ? `${body}\n[... ${this.dropped} more bytes not kept]` : body;
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (os.constants.signals[signal] ?? 0) : 0;
}
