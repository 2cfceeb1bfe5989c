import { formatDuration } from '../environ/index.js';
import { slurmWalltime } from './walltime.js';

/** The job name every pool has: `pool ls` and `pool stop` find pools by it. */
export const POOL_JOB_NAME = 'sluice-pool';

export interface PoolSpec {
  nodes: number;
  /** the allocation's walltime, ms */
  timeMs: number;
  /** CPUs per node; unset: whole nodes (`--exclusive`), each worker as wide as its node */
  cpusPerNode?: number;
  /** memory per node, MiB (also what each worker offers to units) */
  memMb?: number;
  partition?: string;
  account?: string;
  /** a private pool: the workers take only this owner's units */
  owner?: string;
  /** workers stop after this long with nothing to run (0: never) */
  idleExitMs: number;
  /** workers begin to stop this long before the allocation's end */
  stopBeforeMs: number;
  /** how long a stopping worker lets its units finish before giving them back */
  graceMs: number;
  /** the command that runs this installation's `sluice` (absolute paths: the nodes share the file system) */
  sluice: string[];
  /** what the workers' environment must hold (the store, Sluice's other settings), written into the script */
  env: Record<string, string>;
  /** when the script is written (ms since the epoch), for its header */
  now: number;
}

/** Single-quoted for the shell: nothing inside is expanded. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * The sbatch script of a pool (PARK's "private parallel kernel system on the allocated nodes"):
 * one `srun` task per node runs `sluice worker`, which pulls units from the store; nothing
 * connects to the compute nodes. Each worker stops by itself when idle for `idleExitMs`, or
 * `stopBeforeMs` before the allocation ends, giving its units back before the walltime kills it.
 */
export function slurmScript(spec: PoolSpec): string {
  const directives = [
    `--job-name=${POOL_JOB_NAME}`,
    `--comment=${ownerComment(spec.owner)}`,
    `--nodes=${spec.nodes}`,
    '--ntasks-per-node=1',
    spec.cpusPerNode ? `--cpus-per-task=${spec.cpusPerNode}` : '--exclusive',
    ...(spec.memMb ? [`--mem=${spec.memMb}M`] : []),
    `--time=${slurmWalltime(spec.timeMs)}`,
    ...(spec.partition ? [`--partition=${spec.partition}`] : []),
    ...(spec.account ? [`--account=${spec.account}`] : []),
    `--output=${POOL_JOB_NAME}-%j.out`,
  ];
  const worker = [
    ...spec.sluice.map(shellQuote),
    'worker',
    ...(spec.cpusPerNode ? ['--concurrency', String(spec.cpusPerNode)] : []),
    ...(spec.memMb ? ['--ram', `${spec.memMb}M`] : []),
    ...(spec.owner ? ['--owner', shellQuote(spec.owner)] : []),
    ...(spec.idleExitMs ? ['--idle-exit', formatDuration(spec.idleExitMs)] : []),
    '--grace', String(spec.graceMs / 1000),
    // Old bash (4.2, still on some clusters) calls an empty array unbound under set -u; this form is safe.
    '${stop_at[@]+"${stop_at[@]}"}',
    '--label', '"slurm_job=$SLURM_JOB_ID"',
  ];
  const exports = Object.entries(spec.env)
    .filter(([name]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => `export ${name}=${shellQuote(value)}`);
  return `#!/bin/bash
# A Sluice worker pool${spec.owner ? ` private to ${spec.owner}` : ''}: one \`sluice worker\` per allocated node, pulling units from the
# store below. Workers stop when idle for ${spec.idleExitMs ? formatDuration(spec.idleExitMs) : '(never)'} or ${formatDuration(spec.stopBeforeMs)} before the allocation ends,
# giving back what they run. Written by \`sluice pool slurm\` at ${new Date(spec.now).toISOString()}; run it with sbatch.
${directives.map((d) => `#SBATCH ${d}`).join('\n')}
set -uo pipefail

# The workers' settings as they were when this was written. Tokens are not written here: sbatch
# passes SLUICE_TOKEN on from the environment it is run from.
${exports.join('\n')}

# The allocation's end: Slurm 23.02 and later set SLURM_JOB_END_TIME (seconds since the epoch);
# older ones answer squeue (local time). Without it, workers stop on Slurm's SIGTERM alone.
end=\${SLURM_JOB_END_TIME:-}
if [ -z "$end" ]; then
  limit=$(squeue -h -j "$SLURM_JOB_ID" -o %e 2>/dev/null || true)
  case $limit in [0-9][0-9][0-9][0-9]-*) end=$(date -d "$limit" +%s) ;; esac
fi
stop_at=()
if [ -n "$end" ]; then
  stop_at=(--stop-at "$(date -u -d "@$((end - ${Math.ceil(spec.stopBeforeMs / 1000)}))" +%Y-%m-%dT%H:%M:%SZ)")
else
  echo "sluice pool: cannot read the allocation's end; workers stop on Slurm's signal only" >&2
fi

exec srun --ntasks-per-node=1 --kill-on-bad-exit=0 \\
  ${worker.join(' ')}
`;
}

/**
 * The pool's owner as its Slurm comment carries it (`pool ls` reads it back). Percent-encoded, so
 * that no name can break the #SBATCH line, which sbatch splits at spaces and quotes.
 */
export function ownerComment(owner: string | undefined): string {
  return `${POOL_JOB_NAME}:owner=${owner === undefined ? '*' : encodeURIComponent(owner).replace(/['()*!~]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`;
}

/** The owner named by a comment `ownerComment` wrote; null for a pool that takes anyone's units. */
export function ownerOfComment(comment: string): string | null | undefined {
  const m = /^sluice-pool:owner=(.*)$/.exec(comment);
  if (!m) return undefined;
  if (m[1] === '*') return null;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1]!;
  }
}
