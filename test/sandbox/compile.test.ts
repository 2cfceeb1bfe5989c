import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { PACKAGE_ROOT } from '../../src/environ/index.js';
import { requireProgram } from '../helpers/require.js';
import { file, requireSandboxTools, runJob, scratch } from './helpers.js';

requireSandboxTools();
requireProgram('g++', 'g++');

const dir = scratch();
let n = 0;
const source = (ext: string, text: string) => file(dir, `src${++n}.${ext}`, text);
const target = () => path.join(dir, `bin${++n}`);

async function compile(src: string, extra: Environ = {}): Promise<Environ> {
  return runJob({ job_type: 'compile', source_file: src, out_file: target(), ...extra });
}

const HELLO_C = '#include <stdio.h>\n#include <math.h>\nint main(void) { int a, b; if (scanf("%d %d", &a, &b) != 2) return 1; printf("%d\\n", a + b + (int)sqrt(0.0)); return 0; }\n';
const HELLO_CPP = '#include <iostream>\n#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; long s = 0; for (int x : v) s += x; std::cout << s << "\\n"; }\n';
const LIMITS = { compilation_time_limit: 2000, compilation_real_time_limit: 6000, compilation_mem_limit: 128 * 1024, compilation_output_limit: 100 };

describe('compile', () => {
  it('compiles C (chosen by the extension) in the sandbox, and the result runs under exec', async () => {
    const out = await compile(source('c', HELLO_C));
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'OK', exec_info: { mode: 'executable' } });
    expect(statSync(String(out.out_file)).size).toBeGreaterThan(1000);
    const ran = await runJob({
      job_type: 'exec',
      exe_file: out.out_file,
      in_file: file(dir, 'ab.in', '40 2\n'),
      check_output: true,
      hint_file: file(dir, 'ab.hint', '42\n'),
    });
    expect(ran).toMatchObject({ result_code: 'OK', result_percentage: [100, 1] });
  });

  it('compiles C++ by name, with extra arguments, additional sources and extra files', async () => {
    expect(await compile(source('cc', HELLO_CPP), { compiler: 'default-cpp' })).toMatchObject({ result_code: 'OK' });
    const lib = file(dir, 'lib.c', '#include "lib.h"\nint answer(void) { return ANSWER; }\n');
    const header = file(dir, 'lib.h', 'int answer(void);\n');
    const main = source('c', '#include <stdio.h>\n#include "lib.h"\nint main(void) { printf("%d\\n", answer()); return 0; }\n');
    const out = await compile(main, {
      additional_sources: { c: [lib] },
      extra_files: { 'lib.h': header },
      extra_compilation_args: '-DANSWER=42 -Wall',
    });
    expect(out).toMatchObject({ result_code: 'OK' });
  });

  it('a syntax error is CE with the compiler output', async () => {
    const out = await compile(source('c', 'int main(void) { return nope; }\n'));
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'CE' });
    expect(String(out.compiler_output)).toMatch(/nope.*undeclared|undeclared.*nope/);
    expect(existsSync(String(out.out_file))).toBe(false);
  });

  it('including /dev/random ends as CE within the limits', async () => {
    const started = Date.now();
    const out = await compile(source('c', '#include "/dev/random"\nint main(void) { return 0; }\n'), LIMITS);
    expect(out.result_code).toBe('CE');
    expect(Buffer.byteLength(String(out.compiler_output))).toBeLessThanOrEqual(100);
    expect(Date.now() - started).toBeLessThan(6600);
  });

  it('templates that recurse forever end as CE within the limits', async () => {
    const started = Date.now();
    const text = [
      'template <int N> struct Loop { static const int value = Loop<N + 1>::value + 1; };',
      'int main() { return Loop<0>::value; }',
      '',
    ].join('\n');
    const out = await compile(source('cpp', text), { ...LIMITS, extra_compilation_args: '-ftemplate-depth=1000000000' });
    expect(out.result_code).toBe('CE');
    expect(Date.now() - started).toBeLessThan(6600);
  });

  it('keeps at most compilation_output_limit bytes of messages, as valid UTF-8', async () => {
    const noisy = Array.from({ length: 200 }, (_, i) => `int f${i}(void) { return nope_é${i}; }`).join('\n');
    const out = await compile(source('c', `${noisy}\nint main(void) { return 0; }\n`), { compilation_output_limit: 333 });
    expect(out.result_code).toBe('CE');
    const text = String(out.compiler_output);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(333);
    expect(Buffer.byteLength(text)).toBeGreaterThan(250);
    expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
  });

  it('a result above compilation_result_size_limit is CE', async () => {
    const big = source('c', 'char data[6 << 20] = {1};\nint main(void) { return data[0] - 1; }\n');
    const out = await compile(big, { compilation_result_size_limit: 5 << 20, compilation_output_limit: 100 });
    expect(out).toMatchObject({ result_code: 'CE' });
    expect(String(out.compiler_output)).toContain('Compiled file size limit exceeded.');
    expect(Buffer.byteLength(String(out.compiler_output))).toBeLessThanOrEqual(100);
    expect(await compile(big, { compilation_result_size_limit: 8 << 20 })).toMatchObject({ result_code: 'OK' });
  });

  it('an unknown compiler is SE naming the known ones; output-only compiles nothing', async () => {
    const out = await compile(source('c', HELLO_C), { compiler: 'cobol' });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'SE' });
    expect(out.result_string).toMatch(/unknown compiler "cobol"; known compilers: .*default-c.*default-cpp/);
    const txt = source('txt', 'an answer\n');
    expect(await compile(txt, { compiler: 'output-only' })).toMatchObject({
      result_code: 'OK',
      exec_info: { mode: 'output-only' },
      out_file: txt,
    });
  });
});

describe('the CLI', () => {
  const run = promisify(execFile);
  // The CLI's own home, so that a store the user's ~/.sluice holds (maybe a newer schema) plays no part.
  const env = { ...process.env, SLUICE_HOME: path.join(dir, 'home') };
  const exec = (file: string, args: string[]) => run(file, args, { env });
  const cli = path.join(PACKAGE_ROOT, 'dist/cli/main.js');

  it('sluice compile SRC OUT [LANG]: exit 0 and the program on OK, exit 1 and the messages on CE', async () => {
    const out = target();
    await exec(process.execPath, [cli, 'compile', source('c', HELLO_C), out]);
    expect(existsSync(out)).toBe(true);
    const bad = await exec(process.execPath, [cli, 'compile', source('txt', 'int main( {'), target(), 'c']).catch((e) => e);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error/);
    const unknown = await exec(process.execPath, [cli, 'compile', source('c', HELLO_C), target(), 'cobol']).catch((e) => e);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^sluice: unknown compiler "cobol"/);
  });

  it('sluice doctor prints the probe; --json gives the tiers and executors', async () => {
    const { stdout } = await exec(process.execPath, [cli, 'doctor', '--json']);
    const caps = JSON.parse(stdout);
    expect(caps.tier).toMatch(/^[AB]$/);
    expect(caps.executors.exec.ok).toBe(true);
    expect(caps.languages.find((l: { language: string }) => l.language === 'c')).toMatchObject({ ok: true, version: expect.stringMatching(/gcc/) });
    expect(caps.instructions).toMatchObject({ ok: expect.any(Boolean), detail: expect.any(String) });
    const text = (await exec(process.execPath, [cli, 'doctor'])).stdout;
    expect(text).toMatch(/^store: (SQLite|PostgreSQL) /);
    expect(text).toMatch(/^tier [AB]: /m);
    expect(text).toMatch(/exec +available/);
    expect(text).toMatch(/^languages:\n {2}ok {2}C \(gcc\) +\/usr\//m);
    expect(text).toMatch(/^ {2}(ok |NO ) instructions /m);
  });
});
