import { spawn, execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BACKENDS } from '../helpers/backends.js';
import { freshHome, sluice, until } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { requireProgram } from '../helpers/require.js';
import { api, startServe, type Served } from '../helpers/server.js';
import { requireSandboxTools } from '../sandbox/helpers.js';

/*
 * Sluice as sioworkersd, driven the way oioioi drives sioworkersd: Python's xmlrpc.client against
 * `sluice serve --sioworkersd-port`, the group env as a JSON string, results received by a plain
 * http.server on return_url (test/sioworkersd/oioioi.py), every file in the served file store.
 */
requireSandboxTools();
requireProgram('g++', 'g++');
const python = requireProgram('python3', 'python3');
const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'oioioi.py');
const run = promisify(execFile);

/** The XML-RPC address `sluice serve` logged. */
function rpcUrl(served: Served): string {
  const m = /sioworkersd's XML-RPC at (http:\/\/\S+\/) /.exec(served.log());
  if (!m) throw new Error(`no sioworkersd line in: ${served.log()}`);
  return m[1]!;
}
/** The same address with a user's token in it, as an operator writes SIOWORKERSD_URL. */
const withToken = (url: string, name: string, token: string) => url.replace('http://', `http://${name}:${token}@`);

// The answers are what oioioi reads: JSON the test looks into freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function client(...args: string[]): Promise<any> {
  const { stdout } = await run(python, [CLIENT, ...args], { timeout: 600_000, maxBuffer: 16 << 20 });
  return JSON.parse(stdout);
}

/** `oioioi.py receive PORT FAIL`: the group envs POSTed to it, as they come. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function receiver(port: number, fail = 0): { child: ChildProcess; received: any[]; ready: Promise<void> } {
  const child = spawn(python, [CLIENT, 'receive', String(port), String(fail)], { stdio: ['ignore', 'pipe', 'inherit'] });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const received: any[] = [];
  let started: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const said = JSON.parse(line);
    if ('port' in said) started();
    else received.push(said);
  });
  return { child, received, ready };
}

describe.each(BACKENDS)('sioworkersd for oioioi on $name', (backend) => {
  let home: ReturnType<typeof backend.fresh>;
  let server: Served;
  let rpc: string;
  let oioioi: string;
  beforeAll(async () => {
    home = backend.fresh();
    server = await startServe(home.env, ['--workers', '2', '--sioworkersd-port', '0']);
    const added = await api(server.url, server.token, 'POST', '/api/v1/users', { name: 'oioioi', role: 'user' });
    expect(added.status).toBe(201);
    oioioi = added.body.token;
    rpc = withToken(rpcUrl(server), 'oioioi', oioioi);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    home?.cleanup();
  });
  // What the server said, when a test fails (a call that never returns shows only as a timeout).
  beforeEach(({ onTestFailed }) => onTestFailed(() => void process.stderr.write(`sluice serve's log (end):\n${server?.log().slice(-6000)}\n`)));

  it('judges a submission end to end: compile by sync_run_group, three tests with a checker by run_group, the results POSTed to return_url', async () => {
    const out = await client('judge', rpc, `${server.url}/files`, oioioi);
    const compiled = out.compile['workers_jobs.results'];
    expect(out.compile.error).toBeUndefined();
    expect(compiled.solution).toMatchObject({ result: 'SUCCESS', result_code: 'OK', exec_info: { mode: 'executable' }, out_file: expect.stringMatching(/^\/compiled\/1\.e@\d+$/) });
    expect(compiled.checker).toMatchObject({ result_code: 'OK', out_file: expect.stringMatching(/^\/problems\/sum\/chk\.e@\d+$/) });
    expect(out.group_id).toMatch(/^GROUP_urn:uuid:[0-9a-f-]{36}$/);

    const back = out.returned;
    expect(back._received).toEqual({ user_agent: 'sioworkersd', content_type: 'multipart/form-data' });
    // The group env comes back whole (oioioi's own keys included), with the results by key.
    expect(back).toMatchObject({ group_id: out.group_id, submission_id: 1, job_id: 'urn:oioioi:1', contest_id: 'c1', return_url: expect.stringMatching(/^http:/) });
    expect(back.error).toBeUndefined();
    const results = back['workers_jobs.results'];
    expect(Object.keys(results).sort()).toEqual(['test1', 'test2', 'test3']);
    for (const t of ['test1', 'test2']) {
      expect(results[t]).toMatchObject({ result: 'SUCCESS', result_code: 'OK', result_percentage: [100, 1], group_id: out.group_id, task_id: back.workers_jobs[t].task_id, time_measure: expect.any(String) });
    }
    // 2e9 + 2e9 overflows the solution's int: the checker's WRONG and its comment.
    expect(results.test3).toMatchObject({ result_code: 'WA', result_string: expect.stringMatching(/expected 4000000000/) });
    expect(results.test2.exec_time_limit).toBe(2000);

    // Sluice's side: the oioioi user owns them, fair share counts them in the contest's account.
    const jobs = await api(server.url, oioioi, 'GET', '/api/v1/jobs?tag=contest:c1&limit=100');
    expect(jobs.body.jobs.map((j: { name: string }) => j.name).sort()).toEqual([out.compile.group_id, out.group_id, 'checker', 'solution', 'test1', 'test2', 'test3'].sort());
    const record = await api(server.url, oioioi, 'GET', `/api/v1/jobs/${jobs.body.jobs.find((j: { name: string }) => j.name === 'test1').id}`);
    expect(record.body).toMatchObject({ owner: 'oioioi', account: 'contest:c1', priority: 100, status: 'Success' });
  }, 600_000);

  it('bad calls are faults or HTTP errors, as xmlrpc.client reports them; nothing is queued for them', async () => {
    const plain = rpcUrl(server);
    expect(await client('call', plain, 'get_queue')).toEqual({ protocol_error: { code: 401, message: 'Unauthorized' } });
    expect(await client('call', withToken(plain, 'oioioi', 'sluice_wrong'), 'get_queue')).toMatchObject({ protocol_error: { code: 401 } });
    expect(await client('call', rpc, 'run_groups', '{}')).toEqual({ fault: { code: 8001, string: 'procedure run_groups not found' } });
    expect(await client('call', rpc, 'sync_run_group', '{"workers_jobs": ')).toMatchObject({ fault: { code: 8002, string: expect.stringMatching(/^the group env is not JSON/) } });
    expect(await client('call', rpc, 'sync_run_group', '{"jobs": {}}')).toMatchObject({ fault: { string: 'the group env needs workers_jobs: {key: environ}' } });
    expect(await client('call', rpc, 'sync_run_group', '{"workers_jobs": {"a": {"ping": 1}}}')).toMatchObject({ fault: { string: 'workers_jobs.a has no job_type' } });
    expect(await client('call', rpc, 'run_group', '{"workers_jobs": {"a": {"job_type": "ping"}}}')).toMatchObject({ fault: { string: expect.stringMatching(/^run_group needs return_url/) } });
    expect(await client('call', rpc, 'sync_run_group', '{"workers_jobs": {"a": {"job_type": "ping"}}, "contest_weight": 0}')).toMatchObject({ fault: { string: 'contest_weight must be a number above 0, got 0' } });
    // The role decides the job types, as on the API: a user's client may not run system commands.
    expect(await client('call', rpc, 'sync_run_group', '{"workers_jobs": {"a": {"job_type": "system", "cmd": "id"}}}')).toMatchObject({ fault: { string: expect.stringMatching(/"system" runs unsandboxed/) } });
    const jobs = await api(server.url, oioioi, 'GET', '/api/v1/jobs?status=Queued');
    expect(jobs.body.jobs).toEqual([]);
  }, 120_000);

  it('sync_run_group answers the group env; a job that needs more RAM than any worker offers is the group\'s error; get_workers and get_queue say what runs', async () => {
    const answer = await client('call', rpc, 'sync_run_group', JSON.stringify({ workers_jobs: { p: { job_type: 'ping', ping: 'x' } }, 'workers_jobs.extra_args': { k: 1 }, contest_id: 'c2' }));
    expect(answer).toMatchObject({ 'workers_jobs.extra_args': { k: 1 }, 'workers_jobs.results': { p: { pong: 'x', result: 'SUCCESS' } } });
    // As an older oioioi sends it: a struct, not a JSON string.
    expect(await client('call', rpc, 'sync_run_group', 'struct:{"workers_jobs": {"p": {"job_type": "ping", "ping": 2}}}')).toMatchObject({ 'workers_jobs.results': { p: { pong: 2 } } });
    // A job that raised (an exec without its program): the group's error in sioworkersd's words, the others' results kept.
    const raised = await client('call', rpc, 'sync_run_group', JSON.stringify({ workers_jobs: { ok: { job_type: 'ping', ping: 1 }, bad: { job_type: 'exec' } } }));
    expect(raised['workers_jobs.results']).toEqual({ ok: expect.objectContaining({ pong: 1 }) });
    expect(raised.error).toMatchObject({ message: expect.stringMatching(/^Some tasks in a group failed\.\n\nException: .*exe_file/s), traceback: expect.any(String) });
    const big = await client('call', rpc, 'sync_run_group', JSON.stringify({ workers_jobs: { huge: { job_type: 'exec', exec_mem_limit: 64 * 1024 * 1024 } } }));
    expect(big).toMatchObject({ 'workers_jobs.results': {}, error: { message: expect.stringMatching(/^Task huge \(exec\) needs 65536 MiB of RAM; the largest worker offers \d+ MiB$/) } });
    const workers = await client('call', rpc, 'get_workers');
    expect(workers).toEqual([{ name: expect.stringMatching(/:\d+$/), info: { name: expect.any(String), concurrency: 2, available_ram_mb: expect.any(Number), can_run_cpu_exec: false }, tasks: [], is_running_cpu_exec: false }]);
    expect(await client('call', rpc, 'get_queue')).toBe('the queue is empty\n');
  }, 120_000);
});

describe.each(BACKENDS)('sioworkersd groups across restarts on $name', (backend) => {
  it('a group waiting to run and a group waiting to be returned are run and returned by the next server; a POST answered 500 is tried again', async () => {
    const home = backend.fresh();
    const port = await freePort();
    const group = (ping: number) => JSON.stringify({ workers_jobs: { a: { job_type: 'ping', ping } }, return_url: `http://127.0.0.1:${port}/`, contest_id: 'r' });
    let served: Served | undefined;
    let received: ReturnType<typeof receiver> | undefined;
    try {
      // 1. No worker: the group is still to be judged when the server stops.
      served = await startServe(home.env, ['--no-auth', '--no-workers', '--sioworkersd-port', '0']);
      const waiting = await client('call', rpcUrl(served), 'run_group', group(1));
      expect(await served.stop()).toBe(0);

      // 2. A worker, and nobody listening at return_url: the group is judged and its return fails.
      served = await startServe(home.env, ['--no-auth', '--workers', '1', '--sioworkersd-port', '0']);
      const s2 = served;
      const second = await client('call', rpcUrl(s2), 'run_group', group(2));
      const answerJob = async (groupId: string) => {
        const list = await api(s2.url, null, 'GET', '/api/v1/jobs?tag=sioworkersd-group&limit=100');
        const info = list.body.jobs.find((j: { name: string }) => j.name === groupId);
        return info ? (await api(s2.url, null, 'GET', `/api/v1/jobs/${info.id}`)).body : undefined;
      };
      for (const id of [waiting, second]) {
        const job = await until(async () => {
          const j = await answerJob(id);
          return j?.status === 'Success' && j.delivery?.attempts >= 1 ? j : undefined;
        }, 120_000, `group ${id} judged and its return tried`);
        expect(job.delivery).toMatchObject({ url: `http://127.0.0.1:${port}/`, state: 'due', done_at: null });
      }
      expect(await s2.stop()).toBe(0);

      // 3. The receiver is back (and answers its first POST 500): the next server returns both.
      received = receiver(port, 1);
      await received.ready;
      served = await startServe(home.env, ['--no-auth', '--no-workers', '--sioworkersd-port', '0']);
      const got = received;
      await until(() => (got.received.length >= 2 ? true : undefined), 120_000, 'both groups returned');
      const byId = Object.fromEntries(got.received.map((env) => [env.group_id, env]));
      expect(Object.keys(byId).sort()).toEqual([waiting, second].sort());
      expect(byId[waiting]['workers_jobs.results']).toMatchObject({ a: { pong: 1, result: 'SUCCESS' } });
      expect(byId[second]['workers_jobs.results']).toMatchObject({ a: { pong: 2 } });
    } finally {
      received?.child.kill();
      await served?.stop();
      home.cleanup();
    }
  }, 600_000);
});

describe('sluice serve --sioworkersd-port', () => {
  it('a bad port is one line and exit 2; a port in use says so', async () => {
    const h = freshHome();
    try {
      expect(await sluice(['serve', '--port', '0', '--sioworkersd-port', 'x'], h.env)).toMatchObject({ code: 2, stderr: 'sluice: --sioworkersd-port must be a port number (0 to 65535), got "x"\n' });
      const taken = await startServe(h.env, ['--no-auth', '--no-workers', '--sioworkersd-port', '0']);
      try {
        const port = new URL(rpcUrl(taken)).port;
        const r = await sluice(['serve', '--no-auth', '--no-workers', '--port', '0', '--sioworkersd-port', port], { ...h.env, SLUICE_HOME: `${h.home}/second` });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(new RegExp(`^sluice: .*${port}.*(in use|EADDRINUSE)`, 'm'));
      } finally {
        await taken.stop();
      }
    } finally {
      h.cleanup();
    }
  }, 120_000);
});
