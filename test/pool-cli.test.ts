import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sluice } from './helpers/cli.js';
import { testScope } from './helpers/scope.js';
import { freePort } from './helpers/ports.js';

/** `sluice pool` where no Slurm is needed: the script it writes, and its refusals. (A real Slurm: pool-slurm.test.ts.) */
describe('sluice pool slurm: the script and bad input', () => {
  const scope = testScope();

  it('writes an sbatch script: the allocation asked for, one worker per node with the pool\'s options, the settings quoted', async () => {
    const { env, home } = scope.home({ SLUICE_PLUGINS: `/opt/it's here/plugin.js`, SLUICE_TOKEN: 'secret-token' });
    const r = await sluice(['pool', 'slurm', '--nodes', '3', '--time', '1-12', '--cpus-per-node', '8', '--mem', '16G', '--partition', 'long', '--account', 'proj-7', '--owner', 'alice', '--idle-exit', '5m'], env);
    expect(r.code, r.stderr).toBe(0);
    const script = r.stdout;
    for (const line of ['#SBATCH --job-name=sluice-pool', '#SBATCH --nodes=3', '#SBATCH --ntasks-per-node=1', '#SBATCH --cpus-per-task=8', '#SBATCH --mem=16384M', '#SBATCH --time=1-12:00:00', '#SBATCH --partition=long', '#SBATCH --account=proj-7', '#SBATCH --comment=sluice-pool:owner=alice']) {
      expect(script).toContain(`${line}\n`);
    }
    expect(script).toMatch(/exec srun --ntasks-per-node=1 .*\n .* worker --concurrency 8 --ram 16384M --owner 'alice' --idle-exit 5m --grace 10 .* --label "slurm_job=\$SLURM_JOB_ID"\n$/);
    expect(script).not.toContain('secret-token');
    expect(r.stderr).toMatch(/^sluice: note: the pool's workers use the SQLite file .*sluice\.db/);
    // What the workers get is what was set, quotes and all: run the script's own export lines.
    const exports = script.split('\n').filter((l) => l.startsWith('export ')).join('\n');
    const seen = execFileSync('bash', ['-c', `${exports}\nprintf '%s\\n' "$SLUICE_PLUGINS" "$SLUICE_STORE"`], { encoding: 'utf8', env: {} });
    expect(seen).toBe(`/opt/it's here/plugin.js\n${home}/sluice.db\n`);
    execFileSync('bash', ['-n'], { input: script });
  });

  it('without --cpus-per-node it takes whole nodes; --script writes the file instead of printing it', async () => {
    const { env, home } = scope.home();
    const file = `${home}/pool.sh`;
    const r = await sluice(['pool', 'slurm', '--nodes', '1', '--time', '30', '--script', file], env);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    const script = execFileSync('cat', [file], { encoding: 'utf8' });
    expect(script).toContain('#SBATCH --exclusive\n');
    expect(script).toContain('#SBATCH --time=00:30:00\n');
    expect(script).toContain('#SBATCH --comment=sluice-pool:owner=*\n');
    expect(script).not.toContain('--concurrency');
  });

  it('refuses what cannot make a pool, each in one line with exit 2', async () => {
    const { env } = scope.home();
    for (const [args, message] of [
      [['--nodes', '1'], /^sluice: required option '--time <walltime>' not specified\n$/],
      [['--time', '1h'], /^sluice: required option '--nodes <n>' not specified\n$/],
      [['--nodes', '0', '--time', '1h'], /^sluice: --nodes must be a whole number of at least 1, got "0"\n$/],
      [['--nodes', '1', '--time', 'soon'], /^sluice: --time must be a walltime like 2h, 90m, 1-12:00:00 or 30 \(minutes, as in sbatch\), got "soon"\n$/],
      [['--nodes', '1', '--time', '2m', '--stop-before', '5m'], /^sluice: --stop-before \(5m\) must be shorter than --time \(2m\)\n$/],
      [['--nodes', '1', '--time', '1h', '--grace', '90'], /^sluice: --stop-before \(1m\) must be longer than --grace \(90s\)/],
      [['--nodes', '1', '--time', '1h', '--partition', 'a b'], /^sluice: --partition must be a Slurm name/],
      [['--nodes', '1', '--time', '1h', '--mem', 'lots'], /^sluice: invalid RAM amount "lots"/],
    ] as const) {
      const r = await sluice(['pool', 'slurm', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const stop = await sluice(['pool', 'stop', 'last'], env);
    expect(stop).toMatchObject({ code: 2, stderr: 'sluice: a pool id is its Slurm job id (a number), got "last"\n' });
  });

  it('without Slurm on PATH, or without a controller, it says so in one line (exit 70)', async () => {
    const { env, home } = scope.home();
    const noSlurm = { ...env, PATH: '/nonexistent' };
    const submit = await sluice(['pool', 'slurm', '--nodes', '1', '--time', '1h', '--submit'], noSlurm);
    expect(submit.code).toBe(70);
    expect(submit.stderr.split('\n').at(-2)).toBe("sluice: sbatch is not on PATH: run this where Slurm's commands are (Debian: apt-get install slurm-client)");
    const ls = await sluice(['pool', 'ls'], noSlurm);
    expect(ls).toMatchObject({ code: 70, stderr: "sluice: squeue is not on PATH: run this where Slurm's commands are (Debian: apt-get install slurm-client)\n" });
    // squeue is here (CI installs slurm-client), but this configuration names a controller that is not there.
    const conf = path.join(home, 'slurm.conf');
    const port = await freePort();
    writeFileSync(conf, `ClusterName=none\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=${port}\nMessageTimeout=1\nNodeName=localhost\nPartitionName=p Nodes=localhost\n`);
    const noController = await sluice(['pool', 'ls'], { ...env, SLURM_CONF: conf });
    expect(noController.code).toBe(70);
    expect(noController.stderr).toMatch(/^sluice: squeue failed: .+\n$/);
  });
});
