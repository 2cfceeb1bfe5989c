import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, exited } from './cli.js';

/** A `sluice serve` started from the built CLI, as a user starts it, on a free port. */
export interface Served {
  child: ChildProcess;
  /** http://127.0.0.1:PORT */
  url: string;
  /** the admin token it printed (null with --no-auth) */
  token: string | null;
  /** the line it printed */
  line: string;
  log: () => string;
  /** SIGTERM, and the exit code */
  stop(): Promise<number | null>;
}

/** Starts `sluice serve --port 0 ARGS` and resolves with the URL it prints. */
export function startServe(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /Sluice is serving at (http:\/\/[^/\s]+)\/(?:\?token=(\S+))?\n/.exec(out);
      if (!m) return;
      resolve({
        child,
        url: m[1]!,
        token: m[2] ?? null,
        line: m[0].trimEnd(),
        log: () => log,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited(child);
        },
      });
    });
    child.on('exit', (code) => reject(new Error(`sluice serve exited (${code}) before serving: ${log}`)));
  });
}

/** A JSON call to a served API: status and parsed body (or text). */
export async function api(
  url: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  // The answers are whatever JSON the route gives: tests look into them freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}
