import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, exited, sluice, until } from './helpers/cli.js';
import { nothingLeftIn, processesIn, running, runsIn } from './helpers/procs.js';
import { testScope } from './helpers/scope.js';

const DAEMON = "(setsid sh -c 'sleep 15' &)";
/** A record's time, whether given as ms since the epoch or as ISO-8601 text. */
const ms = (t: number | string) => (typeof t === 'number' ? t : Date.parse(t));

/**
 * No process of a `system` unit outlives its unit: not a daemon, not after an abort, not after its
 * worker was SIGKILLed, not after a Ctrl-C of an in-process run. Each worker runs its units under
 * its own SLUICE_TMPDIR, so processesIn() finds everything a unit started, detached or not.
 */
describe('system jobs: the process tree ends with the unit', () => {
  const t = testScope();
  const worker = (env: NodeJS.ProcessEnv, dir: string, args: string[] = []) => t.worker({ ...env, SLUICE_TMPDIR: dir }, args);
  async function submit(env: NodeJS.ProcessEnv, cmd: string): Promise<string> {
    const r = await sluice(['submit', '--cmd-type', 'system', '--cmd', cmd], env);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  }
  const record = async (env: NodeJS.ProcessEnv, id: string) => JSON.parse((await sluice(['job', id, '--json'], env)).stdout);
  const ended = (env: NodeJS.ProcessEnv, id: string) =>
    until(async () => {
      const r = await record(env, id);
      return ['Success', 'Failed', 'Aborted'].includes(r.status) ? r : undefined;
    }, 30_000, `job ${id} to end`);

  it(`a daemon started with ${DAEMON} ends when its job ends, which does not wait for it`, async () => {
    const { env } = t.home();
    const dir = t.unitsDir();
    await worker(env, dir);
    const id = await submit(env, DAEMON);
    const job = await ended(env, id);
    expect(job.status).toBe('Success');
    // Holding the job's stdout, the daemon used to keep the job Running for its 15 s, and then some.
    expect(ms(job.date_end) - ms(job.date_start)).toBeLessThan(10_000);
    expect(processesIn(dir)).toEqual([]);
  }, 40_000);

  it(`sluice abort kills a daemon started with ${DAEMON}`, async () => {
    const { env } = t.home();
    const dir = t.unitsDir();
    await worker(env, dir);
    const id = await submit(env, `${DAEMON}; sleep 30`);
    await runsIn(dir, 'sh -c sleep 15');
    expect((await sluice(['abort', id], env)).code).toBe(0);
    await nothingLeftIn(dir, 'every process of the aborted job to end');
    expect((await record(env, id)).status).toBe('Aborted');
  }, 40_000);

  it("SIGKILL of a worker ends its units' processes", async () => {
    const { env } = t.home();
    const dir = t.unitsDir();
    const w = await worker(env, dir, ['--concurrency', '3']);
    await sluice(['submit', '--inputs', '-', '--cmd-type', 'system', '--cmd', `${DAEMON}; sleep 30 & sleep 31`], env, '1\n2\n3\n');
    await runsIn(dir, 'sleep 31', 3);
    w.kill('SIGKILL');
    await exited(w);
    await nothingLeftIn(dir, "the killed worker's unit processes to end");
  }, 40_000);

  it('a unit re-run after its worker was killed does not also keep running its first copy', async () => {
    const { env } = t.home();
    const [dirA, dirB] = [t.unitsDir(), t.unitsDir()];
    const a = await worker(env, dirA, ['--lease', '1']);
    const id = await submit(env, 'sleep 30; echo done');
    await runsIn(dirA, 'sleep 30');
    a.kill('SIGKILL');
    await exited(a);
    await worker(env, dirB, ['--lease', '1']);
    await runsIn(dirB, 'sleep 30');
    expect(processesIn(dirA)).toEqual([]);
    expect((await record(env, id)).status).toBe('Running');
  }, 40_000);

  it('a worker that lost its lease while frozen kills its copy when it wakes', async () => {
    const { env } = t.home();
    const [dirA, dirB] = [t.unitsDir(), t.unitsDir()];
    const a = await worker(env, dirA, ['--lease', '1']);
    await submit(env, 'sleep 30; echo done');
    await runsIn(dirA, 'sleep 30');
    a.kill('SIGSTOP');
    t.defer(() => void a.kill('SIGCONT'));
    await worker(env, dirB, ['--lease', '1']);
    await runsIn(dirB, 'sleep 30');
    a.kill('SIGCONT');
    await nothingLeftIn(dirA, 'the stale copy to be killed');
    expect(running(processesIn(dirB), 'sleep 30').length).toBe(1);
  }, 40_000);

  it('Ctrl-C of submit --block running a system job here aborts it, leaves nothing running, exits 130', async () => {
    const { env } = t.home();
    const dir = t.unitsDir();
    // setsid, as in the issue: the whole process group gets the SIGINT, as from a terminal.
    const submitter = spawn(process.execPath, [BIN, 'submit', '--cmd-type', 'system', '--cmd', 'sleep 30; echo finished', '--block'], {
      env: { ...env, SLUICE_TMPDIR: dir },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    submitter.stdout!.on('data', (d) => (out += d));
    submitter.stderr!.on('data', (d) => (err += d));
    t.defer(() => void submitter.kill('SIGKILL'));
    await runsIn(dir, 'sleep 30');
    process.kill(-submitter.pid!, 'SIGINT');
    const code = await exited(submitter);
    // Checked at once: the command exits only after the tree is gone.
    expect(processesIn(dir)).toEqual([]);
    expect(code).toBe(130);
    expect(err).toMatch(/sluice: interrupted; aborting job /);
    expect((await record(env, out.trim())).status).toBe('Aborted');
    // The run here saw its unit killed and recorded it before the command exited.
    const [unit] = JSON.parse((await sluice(['job', out.trim(), '--units', '--json'], env)).stdout);
    expect(unit).toMatchObject({ state: 'aborted', result: { exit_signal: 'SIGKILL' } });
  }, 40_000);
});
