import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AbortedError, Registry, run, parseEnviron, parseAssignment, type Environ, type Report } from '../src/environ/index.js';
import { builtinRegistry } from '../src/jobs/index.js';

describe('the environ runner', () => {
  const registry = builtinRegistry();

  it('ping answers pong and sets result and worker', async () => {
    const out = await run({ job_type: 'ping', ping: 'hello' }, { registry, hostname: 'box-1' });
    expect(out).toEqual({ job_type: 'ping', ping: 'hello', pong: 'hello', result: 'SUCCESS', worker: 'box-1' });
  });

  it('an unknown job type is a FAILURE naming it and listing the known ones', async () => {
    const out = await run({ job_type: 'frobnicate' }, { registry });
    expect(out.result).toBe('FAILURE');
    expect(out.exception).toMatch(/unknown job type "frobnicate"; known job types: .*js.*ping.*system/);
    expect(typeof out.traceback).toBe('string');
  });

  it('a missing job_type is a FAILURE, not a crash', async () => {
    const out = await run({}, { registry });
    expect(out).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/job_type/) });
  });

  it('an unknown filter is a FAILURE naming it', async () => {
    const out = await run({ job_type: 'ping', prefilters: ['nope'] }, { registry });
    expect(out).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/unknown filter "nope"/) });
  });

  it('refuses an environ that is not a JSON object, with a clear error', async () => {
    await expect(run([1, 2] as unknown, { registry })).rejects.toThrow(/environ must be a JSON object, got an array/);
    await expect(run('ping' as unknown, { registry })).rejects.toThrow(/got a string/);
    expect(() => parseEnviron('{oops')).toThrow(/environ is not valid JSON/);
    expect(() => parseEnviron('42')).toThrow(/must be a JSON object, got a number/);
    expect(parseEnviron(JSON.stringify(JSON.stringify({ job_type: 'ping' })))).toEqual({ job_type: 'ping' });
  });

  it('applies prefilters, then the job, then postfilters, in order', async () => {
    const trace: string[] = [];
    const reg = new Registry({ nodeModules: [] })
      .registerFilter('a', (e) => ({ ...e, trace: [...((e.trace as string[]) ?? []), 'pre-a'] }))
      .registerFilter('b', (e) => {
        e.trace = [...(e.trace as string[]), 'pre-b'];
      })
      .registerFilter('c', (e) => ({ ...e, trace: [...(e.trace as string[]), `post-c:${e.result}`] }))
      .registerJob('record', (e) => {
        trace.push('job');
        e.trace = [...(e.trace as string[]), 'job'];
        return e;
      });
    const out = await run({ job_type: 'record', prefilters: ['a', 'b'], postfilters: ['c'] }, { registry: reg });
    expect(out.trace).toEqual(['pre-a', 'pre-b', 'job', 'post-c:SUCCESS']);
    expect(trace).toEqual(['job']);
  });

  it('postfilters still run after a failing job', async () => {
    const reg = new Registry({ nodeModules: [] })
      .registerJob('boom', () => {
        throw new Error('boom');
      })
      .registerFilter('mark', (e) => ({ ...e, marked: e.result }));
    const out = await run({ job_type: 'boom', postfilters: ['mark'] }, { registry: reg });
    expect(out).toMatchObject({ result: 'FAILURE', exception: 'Error: boom', marked: 'FAILURE' });
    expect(out.traceback).toMatch(/Error: boom\n\s+at /);
  });

  it('gives each run a private folder and removes it even when the job throws', async () => {
    let seen = '';
    const reg = new Registry({ nodeModules: [] }).registerJob('messy', (_e, ctx) => {
      seen = ctx.tmpdir;
      writeFileSync(path.join(ctx.tmpdir, 'junk'), 'x');
      throw new Error('after writing');
    });
    const out = await run({ job_type: 'messy' }, { registry: reg });
    expect(out.result).toBe('FAILURE');
    expect(seen).not.toBe('');
    expect(existsSync(seen)).toBe(false);
  });

  it('removes the folder of an aborted run', async () => {
    let seen = '';
    const ac = new AbortController();
    const reg = new Registry({ nodeModules: [] }).registerJob(
      'waits',
      (_e, ctx) =>
        new Promise((_resolve, reject) => {
          seen = ctx.tmpdir;
          writeFileSync(path.join(ctx.tmpdir, 'partial'), 'x');
          ctx.signal.addEventListener('abort', () => reject(new AbortedError()));
        }),
    );
    const pending = run({ job_type: 'waits' }, { registry: reg, signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const out = await pending;
    expect(out).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/aborted/) });
    expect(seen).not.toBe('');
    expect(existsSync(seen)).toBe(false);
  });

  it('system: runs the command in the job folder with /bin/sh, capturing both streams', async () => {
    const out = await run({ job_type: 'system', cmd: 'echo out; echo err >&2; pwd' }, { registry });
    expect(out.result).toBe('SUCCESS');
    expect(out.stderr).toBe('err\n');
    const [first, folder] = String(out.stdout).trim().split('\n');
    expect(first).toBe('out');
    expect(path.basename(folder!)).toMatch(/^sluice-/);
    expect(existsSync(folder!)).toBe(false);
    expect(out.return_code).toBe(0);
  });

  it('system: a non-zero exit is a FAILURE carrying both streams', async () => {
    const out = await run({ job_type: 'system', cmd: 'echo partial; echo bad >&2; exit 3' }, { registry });
    expect(out).toMatchObject({ result: 'FAILURE', return_code: 3, stdout: 'partial\n', stderr: 'bad\n' });
    expect(out.exception).toMatch(/exit code 3.*\nstdout:\npartial\n\nstderr:\nbad/s);
  });

  it('js: the body of an async function; its return value is the value; reports become reports', async () => {
    const reports: Report[] = [];
    const out = await run(
      { job_type: 'js', cmd: 'ctx.progress(1, 2, "half"); ctx.status("thinking"); environ.seen = true; return { sum: 6 * 7 }' },
      { registry, report: (r) => reports.push(r) },
    );
    expect(out).toMatchObject({ result: 'SUCCESS', value: { sum: 42 }, seen: true });
    expect(reports).toEqual([{ kind: 'progress', done: 1, total: 2, message: 'half' }, { kind: 'status', text: 'thinking' }]);
  });

  it('js: an exception is a FAILURE whose traceback points into the code', async () => {
    const out = await run({ job_type: 'js', cmd: 'const x = 1;\nreturn x.nope.deeper' }, { registry });
    expect(out.result).toBe('FAILURE');
    expect(out.exception).toMatch(/^TypeError: /);
    expect(out.traceback).toMatch(/line 2/);
  });

  it('js: a crashing child is a FAILURE and the next js job still runs', async () => {
    const crash = await run({ job_type: 'js', cmd: 'process.exit(7)' }, { registry });
    expect(crash).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/exit code 7/) });
    const next = await run({ job_type: 'js', cmd: 'return process.pid' }, { registry });
    expect(next.result).toBe('SUCCESS');
  });

  it('js: reuses child processes between short jobs', async () => {
    const a = await run({ job_type: 'js', cmd: 'return process.pid' }, { registry });
    const b = await run({ job_type: 'js', cmd: 'return process.pid' }, { registry });
    expect(a.value).toBe(b.value);
    expect(a.value).not.toBe(process.pid);
  });

  it('js: an abort kills an endless loop', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 200);
    const out = await run({ job_type: 'js', cmd: 'while (true) {}' }, { registry, signal: ac.signal });
    expect(out).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/aborted/) });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('js: a value that is not JSON is a clear FAILURE', async () => {
    const out = await run({ job_type: 'js', cmd: 'const a = {}; a.a = a; return a' }, { registry });
    expect(out).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/not JSON/) });
  });
});

describe('--set parsing', () => {
  it('parses the value as JSON when it parses, else keeps the string', () => {
    expect(parseAssignment('n=42')).toEqual(['n', 42]);
    expect(parseAssignment('list=[1,"a"]')).toEqual(['list', [1, 'a']]);
    expect(parseAssignment('s=hello world')).toEqual(['s', 'hello world']);
    expect(parseAssignment('eq=a=b')).toEqual(['eq', 'a=b']);
    expect(() => parseAssignment('novalue')).toThrow(/key=value/);
  });
});

export type { Environ };
