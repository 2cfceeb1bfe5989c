import { describe, expect, it } from 'vitest';
import { sluice, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { testScope } from './helpers/scope.js';

/** PARK's control messages, through the CLI, to jobs a worker in another process runs (either store). */
describe.each(BACKENDS)('control messages on $name', (backend) => {
  const scope = testScope(backend);
  const statusOf = async (env: NodeJS.ProcessEnv, id: string) => JSON.parse((await sluice(['job', id, '--json'], env)).stdout).status;

  it('a js job reads them in order from ctx.messages(); a system job from fd 3; a queued job gets them when it starts', async () => {
    const h = scope.home();
    const js = 'const seen = []; for await (const m of ctx.messages()) { if (m.stop) return seen; seen.push(m); }';
    const jsId = (await sluice(['submit', '--cmd', js], h.env)).stdout.trim();
    // Sent before any worker runs it: kept until the job takes it.
    expect(await sluice(['control', jsId, '{"n": 1}'], h.env)).toMatchObject({ code: 0, stdout: `message 1 sent to job ${jsId}\n` });
    await scope.worker(h.env, ['--concurrency', '2']);
    await until(async () => ((await statusOf(h.env, jsId)) === 'Running' ? true : undefined), 20_000, 'the js job to run');
    expect((await sluice(['control', jsId, '"two"'], h.env)).code).toBe(0);
    expect((await sluice(['control', jsId, '{"stop": true}', '--json'], h.env)).stdout).toMatch(/"seq": 3/);
    const js1 = JSON.parse((await sluice(['wait', jsId, '--timeout', '20', '--json'], h.env)).stdout);
    expect(js1).toMatchObject({ status: 'Success', result: [{ n: 1 }, 'two'] });

    const sh = (await sluice(['submit', '--cmd-type', 'system', '--cmd', 'read a <&3; read b <&3; echo "$a $b"'], h.env)).stdout.trim();
    await until(async () => ((await statusOf(h.env, sh)) === 'Running' ? true : undefined), 20_000, 'the system job to run');
    await sluice(['control', sh, '{"x": 1}'], h.env);
    await sluice(['control', sh, '"y"'], h.env);
    const sh1 = JSON.parse((await sluice(['wait', sh, '--timeout', '20', '--json'], h.env)).stdout);
    expect(sh1).toMatchObject({ status: 'Success', result: { stdout: '{"x":1} "y"\n' } });
  }, 60_000);

  it('a message to an ended job, to no job, or that is not JSON is one clear line', async () => {
    const h = scope.home();
    const id = JSON.parse((await sluice(['submit', '--job-type', 'ping', '--block', '--json'], h.env)).stdout).id;
    expect(await sluice(['control', id, '1'], h.env)).toMatchObject({ code: 2, stderr: `sluice: job ${id} has ended (Success); a control message needs a job that is queued or running\n` });
    expect(await sluice(['control', 'no-such', '1'], h.env)).toMatchObject({ code: 3, stderr: 'sluice: no job with id no-such\n' });
    expect((await sluice(['control', id, '{oops'], h.env)).stderr).toMatch(/^sluice: the control message is not JSON/);
  });
});
