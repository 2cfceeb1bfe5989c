/**
 * The child process behind the `js` job. It waits for {type:'run'} messages on the IPC channel, runs
 * the code as the body of `async function (environ, ctx)` and answers {type:'done'}. It serves one
 * job at a time and is reused by the pool for later jobs of the same owner only, so a short js job
 * does not pay for a Node start; after each job its global scope is put back (jsScope.ts), and it
 * says whether it may be reused.
 */
import { createRequire } from 'node:module';
import { chdir } from 'node:process';
import { snapshotScope, type Scope } from './jsScope.js';
import { Inbox } from '../environ/inbox.js';

type RunMessage = { type: 'run'; code: string; environ: Record<string, unknown>; tmpdir: string };
type ControlMessage = { type: 'message'; body: unknown };

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<unknown>;

const send = (message: unknown) => process.send?.(message);
// The job may replace globals; this file's own plumbing must not depend on them.
const stringify = JSON.stringify;

/** The running job's control messages (the pool forwards them while the job runs). */
let inbox: Inbox | undefined;

process.on('message', (message: RunMessage | ControlMessage) => {
  if (message?.type === 'run') void runOne(message);
  else if (message?.type === 'message') inbox?.push(message.body);
});
// The worker went away: nothing left to serve.
process.on('disconnect', () => process.exit(0));
// Only now may jobs be sent: Node's ESM loader lets the event loop run while it loads this module's
// imports, and a message that came before the listener above would be lost.
send({ type: 'ready' });
// Taken when the first job arrives: by then this module has finished loading (Node's ESM loader
// holds an 'exit' listener while it runs), and the listeners above are part of the baseline.
let scope: Scope | undefined;

async function runOne({ code, environ, tmpdir }: RunMessage): Promise<void> {
  scope ??= snapshotScope();
  let answer: Record<string, unknown>;
  try {
    chdir(tmpdir);
    (globalThis as Record<string, unknown>).require = createRequire(`${tmpdir}/`);
    const messages = (inbox = new Inbox());
    const ctx = {
      tmpdir,
      progress: (done: number, total: number, message?: string) => send({ type: 'progress', done, total, message }),
      status: (text: string) => send({ type: 'status', text: String(text) }),
      messages: () => messages,
      on: (event: string, listener: (message: unknown) => void) => {
        if (event === 'message') messages.forward(listener);
      },
    };
    const fn = new AsyncFunction('environ', 'ctx', code);
    const value = await fn(environ, ctx);
    let encoded: string | undefined;
    try {
      encoded = value === undefined ? undefined : stringify(value);
    } catch (err) {
      throw new TypeError(`the js job returned a value that is not JSON: ${(err as Error).message}`);
    }
    answer = { type: 'done', ok: true, value: encoded, environ };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    answer = { type: 'done', ok: false, error: { name: e.name, message: e.message, stack: userStack(e) } };
  }
  inbox?.close();
  inbox = undefined;
  send({ ...answer, reusable: scope.reset() });
}

/**
 * The stack as the job's author sees it: frames in their code, with lines counted from the first
 * line of `cmd` (the function header adds two), and none of this file's plumbing.
 */
function userStack(e: Error): string {
  const lines = (e.stack ?? `${e.name}: ${e.message}`).split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const inJob = /<anonymous>:(\d+):(\d+)\)?$/.exec(line);
    if (inJob && line.includes('eval at runOne')) out.push(`    at the job's code, line ${Number(inJob[1]) - 2}, column ${inJob[2]}`);
    else if (!line.includes('jsChild.js') && !/\(node:[a-z_/]+:\d+:\d+\)$/.test(line)) out.push(line);
  }
  return out.join('\n');
}
