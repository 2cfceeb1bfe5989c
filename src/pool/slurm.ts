import { spawn } from 'node:child_process';
import { EXIT, NotFoundError, SluiceError } from '../environ/index.js';
import { ownerOfComment, POOL_JOB_NAME } from './script.js';

/** A pool as `squeue` shows it. Times are ms since the epoch (null when Slurm has none yet). */
export interface PoolRow {
  /** the Slurm job id */
  id: string;
  /** Slurm's state: PENDING, RUNNING, COMPLETING, ... */
  state: string;
  nodes: number;
  user: string;
  partition: string;
  /** whose units its workers take; null: anyone's */
  owner: string | null;
  started_at: number | null;
  ends_at: number | null;
  nodelist: string;
  /** why it pends (Slurm's reason), or null */
  reason: string | null;
}

/** Submits a pool's script (on standard input, so nothing is left on disk); returns its Slurm job id. */
export async function submitPool(script: string, env: Record<string, string> = {}): Promise<string> {
  // sbatch passes its environment on to the job (--export=ALL): a token given here reaches the workers so, unwritten.
  const out = await slurm('sbatch', ['--parsable'], script, env);
  // --parsable answers "ID" or "ID;CLUSTER".
  const id = out.trim().split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new SluiceError(`sbatch answered "${out.trim()}" instead of a job id`);
  return id;
}

/** Every pool Slurm knows of (every user's: squeue shows what this user may see). */
export async function listPools(): Promise<PoolRow[]> {
  const out = await slurm('squeue', ['-h', '-n', POOL_JOB_NAME, '-o', '%i|%T|%D|%u|%P|%S|%e|%N|%r|%k']);
  const rows: PoolRow[] = [];
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const [id, state, nodes, user, partition, start, end, nodelist, reason, ...comment] = line.split('|');
    const owner = ownerOfComment(comment.join('|'));
    if (owner === undefined) continue; // someone else's job that happens to have this name
    rows.push({
      id: id!, state: state!, nodes: Number(nodes), user: user!, partition: partition!, owner,
      started_at: slurmTime(start!), ends_at: slurmTime(end!), nodelist: nodelist!, reason: !reason || reason === 'None' ? null : reason,
    });
  }
  return rows;
}

/**
 * Cancels a pool. Slurm sends its workers SIGTERM (and SIGKILL after its KillWait): each stops
 * claiming, lets its units finish within its grace, gives the rest back to the queue and exits.
 */
export async function stopPool(id: string): Promise<PoolRow> {
  const pool = (await listPools()).find((p) => p.id === id);
  if (!pool) throw new NotFoundError(`no pool with Slurm job id ${id} (sluice pool ls lists them)`);
  await slurm('scancel', [id]);
  return pool;
}

/** squeue's times are local, without a zone ("2026-12-01T11:52:00"); "N/A", "Unknown" and the like mean none. */
function slurmTime(text: string): number | null {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Runs a Slurm client program; its complaint becomes one line. A complaint about what was asked
 * (an invalid partition, account or size) is bad input (exit 2); anything else is trouble in the
 * system (exit 70: no controller, no munge).
 */
function slurm(program: string, args: string[], input?: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {}); // a program that exits before reading says why on stderr
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new SluiceError(`${program} is not on PATH: run this where Slurm's commands are (Debian: apt-get install slurm-client)`, EXIT.INTERNAL)
          : new SluiceError(`cannot run ${program}: ${err.message}`, EXIT.INTERNAL),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      const said = stderr.trim().split('\n').map((l) => l.trim()).filter(Boolean).join('; ') || `exit ${code ?? signal}`;
      reject(new SluiceError(`${program} failed: ${said}`, /invalid|unrecognized|not (a )?valid/i.test(said) ? EXIT.USAGE : EXIT.INTERNAL));
    });
    child.stdin.end(input ?? '');
  });
}
