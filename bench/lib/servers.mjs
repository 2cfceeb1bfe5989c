// Starts throwaway servers on loopback for benchmarks; each stops with its `stop()`.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** redis-server with persistence off, on a free loopback port. */
export async function startRedis() {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' });
  } catch {
    throw new Error('the benchmark needs redis-server: apt-get install redis-server');
  }
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.write('PING\r\n');
      });
      s.on('data', (d) => {
        s.destroy();
        resolve(String(d).startsWith('+PONG'));
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1];
  return {
    port,
    version,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresBin() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) throw new Error('the benchmark needs PostgreSQL: apt-get install postgresql');
  return { bin: path.join(root, versions[0], 'bin'), version: versions[0] };
}

/**
 * A PostgreSQL cluster on a free loopback port (Debian's binaries, no system service), its data in
 * `dir` (made by initdb when new, kept when `keep`, so that a large benchmark store is filled once).
 * `autovacuum: false` for counting work (bench/work.mjs): its writes would be counted too.
 */
export async function startPostgres(dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-pg-')), { keep = false, autovacuum = true } = {}) {
  const { bin, version } = postgresBin();
  const root = process.getuid?.() === 0;
  // initdb refuses to run as root: the cluster belongs to the postgres user the package made.
  const run = (cmd, args) => {
    const [c, a] = root ? ['runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]] : [path.join(bin, cmd), args];
    execFileSync(c, a, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  mkdirSync(dir, { recursive: true });
  if (root) {
    chmodSync(dir, 0o777);
    execFileSync('chown', ['postgres', dir]);
  }
  const data = path.join(dir, 'data');
  if (!existsSync(path.join(data, 'PG_VERSION'))) run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const port = await freePort();
  run('pg_ctl', ['-D', data, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200${autovacuum ? '' : ' -c autovacuum=off'}`, '-l', path.join(dir, 'log'), '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    version,
    async stop() {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
