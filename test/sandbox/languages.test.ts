import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { requireProgram } from '../helpers/require.js';
import { file, requireSandboxTools, runJob, scratch } from './helpers.js';

requireSandboxTools();
requireProgram('g++', 'g++');
requireProgram('fpc', 'fp-compiler');
requireProgram('javac', 'default-jdk-headless');
requireProgram('/usr/bin/python3', 'python3');

const SOURCES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'programs', 'lang');
const dir = scratch();
const LANGUAGES = ['c', 'cpp', 'pas', 'java', 'py'] as const;
const PROGRAMS = ['aplusb', 'tle', 'mle', 're'] as const;
const compiled = new Map<string, Environ>();

/** Compiles test/sandbox/programs/lang/NAME.EXT with the language chosen by its extension. */
function compile(name: string, ext: string): Promise<Environ> {
  const source = file(dir, `${name}.${ext}`, readFileSync(path.join(SOURCES, `${name}.${ext}`)));
  return runJob({ job_type: 'compile', source_file: source, out_file: path.join(dir, `${name}-${ext}.out`) });
}

beforeAll(async () => {
  // Two at a time: the JVM compiles are the slow ones, and the machine has two cores.
  const jobs = LANGUAGES.flatMap((ext) => PROGRAMS.map((name) => [name, ext] as const));
  for (let i = 0; i < jobs.length; i += 2) {
    await Promise.all(jobs.slice(i, i + 2).map(async ([name, ext]) => compiled.set(`${name}.${ext}`, await compile(name, ext))));
  }
}, 180_000);

function exec(name: string, ext: string, extra: Environ = {}): Promise<Environ> {
  const out = compiled.get(`${name}.${ext}`)!;
  expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'OK' });
  return runJob({
    job_type: 'exec',
    exe_file: out.out_file,
    exec_info: out.exec_info,
    in_file: file(dir, 'ab.in', '40 2\n'),
    check_output: true,
    hint_file: file(dir, 'ab.hint', '42\n'),
    exec_time_limit: 1000,
    exec_mem_limit: 64 * 1024,
    ...extra,
  });
}

describe.each(LANGUAGES)('language %s: compiled in the sandbox, run in the sandbox', (ext) => {
  it('a+b is OK, checked against the hint', async () => {
    expect(await exec('aplusb', ext)).toMatchObject({ result: 'SUCCESS', result_code: 'OK', result_percentage: [100, 1] });
  });

  it('an endless loop is TLE', async () => {
    // The CPU limit stops it, or on a crowded machine (a JVM starting its threads at load 15+) the
    // wall limit may come first: both are TLE, said apart by result_string.
    expect(await exec('tle', ext, { exec_time_limit: 500 })).toMatchObject({ result_code: 'TLE', result_string: expect.stringMatching(/^(real )?time limit exceeded$/) });
  });

  it('256 MiB under a 64 MiB limit is MLE', async () => {
    expect(await exec('mle', ext)).toMatchObject({ result_code: 'MLE', result_string: 'memory limit exceeded' });
  });

  it('a crash is RE', async () => {
    expect(await exec('re', ext)).toMatchObject({ result_code: 'RE' });
  });
});

describe('what each language compiles to', () => {
  it('Java: a jar run by the JVM (exec_info mode java, the public class as main_class); Python: an executable zipapp', () => {
    expect(compiled.get('aplusb.java')).toMatchObject({ exec_info: { mode: 'java', main_class: 'Main', preferred_filename: 'Main.jar' } });
    expect(readFileSync(String(compiled.get('aplusb.java')!.out_file)).subarray(0, 4)).toEqual(Buffer.from('PK\x03\x04'));
    expect(compiled.get('aplusb.py')).toMatchObject({ exec_info: { mode: 'executable' } });
    expect(readFileSync(String(compiled.get('aplusb.py')!.out_file), 'utf8')).toMatch(/^#!\/usr\/bin\/python3\n/);
  });

  it('a Java program gets its heap as the memory limit, and the JVM its own room on top', async () => {
    const ok = await exec('aplusb', 'java', { exec_mem_limit: 16 * 1024 });
    expect(ok).toMatchObject({ result_code: 'OK' });
    expect(ok.mem_used).toBeGreaterThan(16 * 1024);
  });

  it('a Java program sees only the JDK\'s configuration of /etc (read-only), its own processes in /proc, and no network', async () => {
    const jail = await compile('jail', 'java');
    const outFile = path.join(dir, 'jail.out');
    const out = await runJob({ job_type: 'exec', exe_file: jail.out_file, exec_info: jail.exec_info, out_file: outFile, exec_time_limit: 5000, exec_mem_limit: 64 * 1024 });
    expect(out).toMatchObject({ result_code: 'OK' });
    const said = Object.fromEntries(readFileSync(outFile, 'utf8').trim().split('\n').map((l) => l.split(' ', 2) as [string, string]));
    expect(said).toMatchObject({ passwd: 'blocked', hostname: 'blocked', meminfo: 'blocked', pid1: 'blocked', jdkconf: 'blocked', socket: 'blocked' });
    // The JDK's configuration, and the folder its cacerts link leads to (/etc/ssl/certs/java), no more.
    expect(said.etc).toMatch(/^(ssl,)?java-\d+-openjdk(,ssl)?$/);
    // Its own pid directory, self and thread-self: nothing of the host's processes.
    expect(Number(said.proc)).toBeLessThanOrEqual(4);
  });

  it('a compile error in Java or Python is CE with the compiler\'s message', async () => {
    const java = await compile('ce', 'java');
    expect(java).toMatchObject({ result: 'SUCCESS', result_code: 'CE' });
    expect(java.compiler_output).toMatch(/incompatible types: String cannot be converted to int/);
    const py = await compile('ce', 'py');
    expect(py).toMatchObject({ result: 'SUCCESS', result_code: 'CE' });
    expect(py.compiler_output).toMatch(/SyntaxError/);
  });

  it('an unknown language is SE naming the known compilers, never a crash', async () => {
    const out = await runJob({ job_type: 'compile', source_file: file(dir, 'x.cob', 'IDENTIFICATION DIVISION.\n'), out_file: path.join(dir, 'x.out') });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(/^cannot tell the language of ".*x\.cob".*default-java.*default-py/) });
    const named = await runJob({ job_type: 'compile', compiler: 'cobol', source_file: file(dir, 'y.cob', 'x\n'), out_file: path.join(dir, 'y.out') });
    expect(named).toMatchObject({ result_code: 'SE', result_string: expect.stringMatching(/^unknown compiler "cobol"/) });
  });
});
