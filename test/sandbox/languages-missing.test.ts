import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { file, requireSandboxTools, runJob, scratch } from './helpers.js';

requireSandboxTools();

/*
 * A machine without Java, Free Pascal or Python: the toolchains are looked for in a folder that
 * does not exist (the lookup itself is the real one), and every job that needs them answers SE
 * naming the Debian package, never a crash.
 */
vi.mock('../../src/sandbox/toolchains.js', async (original) => {
  const real = await original<typeof import('../../src/sandbox/toolchains.js')>();
  return {
    ...real,
    findJdk: (needCompiler: boolean) => real.findJdk(needCompiler, '/nonexistent'),
    findFpc: () => real.findFpc('/nonexistent'),
    findPython: () => real.findPython('/nonexistent'),
  };
});

const dir = scratch();

describe('a language missing from the machine', () => {
  it.each([
    ['Main.java', 'public class Main { public static void main(String[] a) {} }\n', /^Java is not installed on this machine: .*apt-get install default-jdk-headless/],
    ['a.pas', 'begin end.\n', /^Free Pascal is not installed on this machine: .*apt-get install fp-compiler/],
    ['a.py', 'print(1)\n', /^Python 3 is not installed on this machine: .*apt-get install python3/],
  ])('compile %s: SE naming the package', async (name, text, reason) => {
    const out = await runJob({ job_type: 'compile', source_file: file(dir, name, text), out_file: path.join(dir, `${name}.out`) });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(reason), compiler_output: expect.stringMatching(reason) });
  });

  it('exec of a Java program without a JVM: SE naming the package; the program never runs', async () => {
    const out = await runJob({
      job_type: 'exec',
      exe_file: file(dir, 'Main.jar', 'not really a jar'),
      exec_info: { mode: 'java', main_class: 'Main' },
      in_file: file(dir, 'in', '1 2\n'),
    });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(/^cannot run: Java is not installed on this machine: .*apt-get install default-jre-headless/) });
  });

  it('sluice doctor lists the languages found (here: none of these three)', async () => {
    const { languages } = await import('../../src/sandbox/compilers.js');
    const found = Object.fromEntries(languages().map((l) => [l.language, l.ok]));
    expect(found).toMatchObject({ java: false, pas: false, py: false });
  });
});
