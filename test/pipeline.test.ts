import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sluice } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { testScope } from './helpers/scope.js';
import { requireProgram } from './helpers/require.js';

/**
 * A judge as a pipeline (docs/examples/judge.md): compile once, then a map exec over five tests with
 * the output checked, then a js job that sums the scores, all three submitted at once with --after.
 */
describe.each(BACKENDS)('a judging pipeline on $name', (backend) => {
  const scope = testScope(backend);

  it('compile → map exec over five tests with a checker → a js sum, submitted at once', async () => {
    requireProgram('gcc', 'gcc');
    const h = scope.home();
    const dir = h.home;
    writeFileSync(path.join(dir, 'sum.c'), '#include <stdio.h>\nint main(void){long long a,b;scanf("%lld %lld",&a,&b);printf("%lld\\n",a==3?0:a+b);return 0;}\n');
    const tests = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]];
    tests.forEach(([a, b], i) => {
      writeFileSync(path.join(dir, `${i}.in`), `${a} ${b}\n`);
      writeFileSync(path.join(dir, `${i}.hint`), `${a! + b!}\n`);
    });
    writeFileSync(path.join(dir, 'tests.jsonl'), tests.map((_, i) => JSON.stringify({ in_file: path.join(dir, `${i}.in`), hint_file: path.join(dir, `${i}.hint`) })).join('\n'));
    const exe = path.join(dir, 'sum');
    const id = async (args: string[]) => {
      const r = await sluice(['submit', ...args], h.env);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const compile = await id(['--job-type', 'compile', '--set', `source_file=${path.join(dir, 'sum.c')}`, '--set', `out_file=${exe}`]);
    const run = await id([
      '--job-type', 'exec', '--after', compile, '--inputs', path.join(dir, 'tests.jsonl'),
      '--set', `exe_file=${exe}`, '--set', 'check_output=true', '--set', 'prefilters=["merge_input"]',
    ]);
    const sum = await id([
      '--after', run,
      '--cmd', 'const units = environ.after[Object.keys(environ.after)[0]].result; return units.reduce((s, u) => s + (u.result_code === "OK" ? 20 : 0), 0)',
    ]);
    expect(JSON.parse((await sluice(['job', sum, '--json'], h.env)).stdout)).toMatchObject({ status: 'Waiting' });
    expect((await sluice(['job', sum], h.env)).stdout).toMatch(new RegExp(`waiting\\s+: waiting for 1 of 1 job\\(s\\) to end: ${run} \\((Waiting|Queued)\\)`));
    await scope.worker(h.env, ['--concurrency', '2']);
    const record = JSON.parse((await sluice(['wait', sum, '--timeout', '90', '--json'], h.env)).stdout);
    // Test 2 (3 4) gets 0, not 7: WA, so 4 of 5 tests pass.
    expect(record).toMatchObject({ status: 'Success', result: 80 });
    const runRecord = JSON.parse((await sluice(['job', run, '--json'], h.env)).stdout);
    expect(runRecord.result.map((u: { result_code: string }) => u.result_code)).toEqual(['OK', 'WA', 'OK', 'OK', 'OK']);
  }, 120_000);

  it('--after an id that does not exist is refused at submit; --after-any needs --after', async () => {
    const h = scope.home();
    expect(await sluice(['submit', '--job-type', 'ping', '--after', 'nope'], h.env)).toMatchObject({ code: 2, stderr: 'sluice: a job waits for nope, which does not exist\n' });
    expect(await sluice(['submit', '--job-type', 'ping', '--after-any'], h.env)).toMatchObject({ code: 2, stderr: 'sluice: --after-any goes with --after\n' });
    expect((await sluice(['jobs', '--json'], h.env)).stdout.trim()).toBe('[]');
  });
});
