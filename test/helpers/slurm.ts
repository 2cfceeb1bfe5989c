import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alive, exited, until } from './cli.js';
import { freePort } from './ports.js';
import { requireProgram } from './require.js';

export interface Slurm {
  /** what a process needs to talk to this cluster (SLURM_CONF) */
  env: Record<string, string>;
  dir: string;
  /** Slurm's client command, run to completion against this cluster */
  run(program: string, args: string[]): string;
  stop(): Promise<void>;
}

/**
 * A real single-node Slurm cluster (Debian's munged, slurmctld, slurmd) under a temporary folder:
 * its own munge key and socket, a generated slurm.conf on free ports, nothing under /etc or /run.
 * Started in the foreground as children of this process and stopped by pid; what runs in its
 * allocations is found by the SLURM_CONF in its environment and killed too.
 */
export async function startSlurm(): Promise<Slurm> {
  const munged = requireProgram('munged', 'munge');
  requireProgram('slurmctld', 'slurmctld');
  requireProgram('slurmd', 'slurmd');
  for (const p of ['sbatch', 'squeue', 'scancel', 'sinfo', 'srun']) requireProgram(p, 'slurm-client');

  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-slurm-'));
  const sub = (name: string, mode = 0o755) => {
    const d = path.join(dir, name);
    mkdirSync(d, { mode });
    chmodSync(d, mode);
    return d;
  };
  const [keys, socketDir, state, spool, logs] = [sub('munge-key', 0o700), sub('munge'), sub('state'), sub('spool'), sub('log')];
  const key = path.join(keys, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o600 });
  const socket = path.join(socketDir, 'munge.socket');
  const conf = path.join(dir, 'slurm.conf');
  const host = os.hostname();
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  writeFileSync(path.join(dir, 'plugstack.conf'), '');
  writeFileSync(
    conf,
    `ClusterName=sluicetest
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${ctldPort}
SlurmdPort=${slurmdPort}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${socket}
StateSaveLocation=${state}
SlurmdSpoolDir=${spool}
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${logs}/slurmctld.log
SlurmdLogFile=${logs}/slurmd.log
PlugStackConfig=${dir}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait=30
MinJobAge=30
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${os.cpus().length} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
`,
  );
  const env = { SLURM_CONF: conf };
  const daemons: ChildProcess[] = [];
  const daemon = (program: string, args: string[], log: string) => {
    const out = openSync(path.join(logs, log), 'a');
    // The daemons read slurm.conf from -f, not SLURM_CONF: what has SLURM_CONF is what runs in (or talks to) the cluster.
    const child = spawn(program, args, { stdio: ['ignore', out, out] });
    daemons.push(child);
    return child;
  };
  const run = (program: string, args: string[]) => execFileSync(program, args, { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  const stop = async () => {
    // Allocations first, so that their workers get Slurm's own SIGTERM; then whatever is left, by pid.
    try {
      run('scancel', ['--user', os.userInfo().username]);
      await until(() => (run('squeue', ['-h']).trim() === '' ? true : undefined), 40_000, 'the allocations to end');
    } catch {
      // the controller is gone: the processes below are killed anyway
    }
    for (const pid of processesUsing(conf)) process.kill(pid, 'SIGKILL');
    for (const d of daemons.reverse()) {
      d.kill('SIGTERM');
      await exited(d);
    }
    for (const pid of processesUsing(conf)) process.kill(pid, 'SIGKILL');
    await until(() => (processesUsing(conf).some(alive) ? undefined : true), 10_000, 'the allocations\' processes to end');
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const m = daemon(munged, ['--foreground', '--force', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${socketDir}/munged.pid`, `--seed-file=${keys}/munged.seed`, `--log-file=${logs}/munged.log`], 'munged.out');
    await until(() => (m.exitCode === null && readdirSync(socketDir).includes('munge.socket') ? true : undefined), 10_000, 'munged');
    daemon('slurmctld', ['-D', '-i', '-f', conf], 'slurmctld.out');
    daemon('slurmd', ['-D', '-f', conf, '-N', host], 'slurmd.out');
    await until(() => {
      for (const d of daemons) if (d.exitCode !== null) throw new Error(`${d.spawnfile} exited: ${readLogs(logs)}`);
      try {
        return run('sinfo', ['-h', '-o', '%T']).trim() === 'idle' ? true : undefined;
      } catch {
        return undefined;
      }
    }, 30_000, 'the Slurm node to be idle');
  } catch (err) {
    await stop();
    throw err;
  }
  return { env, dir, run, stop };
}

/** Processes whose environment names this cluster's slurm.conf: the allocations' steps and what they started. */
function processesUsing(conf: string): number[] {
  const needle = `SLURM_CONF=${conf}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle) && alive(pid)) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function readLogs(dir: string): string {
  return readdirSync(dir).map((f) => `${f}: ${readFileSync(path.join(dir, f), 'utf8').slice(-2000)}`).join('\n');
}
