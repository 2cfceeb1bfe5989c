import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { exited, freshHome, sluice, startWorker } from '../helpers/cli.js';
import { requireProgram } from '../helpers/require.js';
import { raw, testServer } from '../files/helpers.js';
import { requireSandboxTools } from './helpers.js';

/*
 * The jobs oioioi sends, through the doors an operator uses: `sluice batch` (sio-batch) and a real
 * `sluice worker`, with every file in the file store (filetracker_url), as sioworkersd's workers
 * get them: sources and tests in the store, programs and outputs stored back with their versions.
 */
requireSandboxTools();
requireProgram('g++', 'g++');
requireProgram('javac', 'default-jdk-headless');

const PROGRAMS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'programs');
const source = (name: string) => readFileSync(path.join(PROGRAMS, name));
let server: Awaited<ReturnType<typeof testServer>>;
const h = freshHome();
const put = async (name: string, body: Buffer | string) => {
  const r = await raw(server.url, 'PUT', `/files${name}`, { body });
  expect(r.status).toBe(200);
};

beforeAll(async () => {
  server = await testServer();
  h.env.SLUICE_FILES_CACHE = path.join(h.home, 'cache');
  await Promise.all([
    put('/p/sum/sol.cpp', '#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a + b << "\\n"; }\n'),
    put('/p/sum/bad.cpp', '#include <iostream>\nint main() { long a, b; std::cin >> a >> b; std::cout << a - b << "\\n"; }\n'),
    put('/p/sum/chk.c', source('chk_compare.c')),
    put('/p/sum/crash.c', source('chk_crash.c')),
    put('/p/sum/Main.java', source('lang/ce.java')),
    put('/p/sum/sol.cob', 'DISPLAY "HELLO".\n'),
    put('/p/guess/soc.c', source('inter_guess.c')),
    put('/p/guess/sol.c', source('sol_guess.c')),
    put('/p/gen/ingen.c', source('ingen.c')),
    put('/p/gen/inwer.c', source('inwer.c')),
    ...[1, 2, 3].flatMap((t) => [put(`/p/sum/${t}.in`, `${t} ${t * 10}\n`), put(`/p/sum/${t}.hint`, `${t * 11}\n`)]),
    put('/p/guess/1.in', '777\n'),
    put('/p/gen/ok.in', '10\n'),
    put('/p/gen/bad.in', '-15\n'),
  ]);
}, 60_000);
afterAll(async () => {
  await server.cleanup();
  h.cleanup();
});

/** `sluice batch` as sio-batch: the environ in the variable `environ`, the result between the markers. */
async function batch(environ: Environ): Promise<Environ> {
  const r = await sluice(['batch'], { ...h.env, environ: JSON.stringify({ filetracker_url: server.url, ...environ }) });
  expect(r.code, r.stderr).toBe(0);
  const m = /--- BEGIN ENVIRON ---\n(.*)\n--- END ENVIRON ---\n$/s.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return JSON.parse(m![1]!) as Environ;
}

describe('through sluice batch (sio-batch), files in the store', () => {
  const compiled: Record<string, Environ> = {};
  beforeAll(async () => {
    for (const [name, src] of [['sol', '/p/sum/sol.cpp'], ['bad', '/p/sum/bad.cpp'], ['chk', '/p/sum/chk.c'], ['crash', '/p/sum/crash.c']] as const) {
      compiled[name] = await batch({ job_type: 'compile', source_file: src, out_file: `/sub/${name}.e` });
    }
  }, 60_000);

  it('compile stores the program with its version; exec judges it on several tests with the compiled checker', async () => {
    expect(compiled.sol).toMatchObject({ result: 'SUCCESS', result_code: 'OK', exec_info: { mode: 'executable' }, out_file: expect.stringMatching(/^\/sub\/sol\.e@\d+$/) });
    for (const t of [1, 2, 3]) {
      const test = { job_type: 'exec', in_file: `/p/sum/${t}.in`, hint_file: `/p/sum/${t}.hint`, check_output: true, chk_file: compiled.chk!.out_file, untrusted_checker: true, exec_time_limit: 1000, exec_mem_limit: 65536, out_file: `/sub/out/${t}`, upload_out: true };
      expect(await batch({ ...test, exe_file: compiled.sol!.out_file, exec_info: compiled.sol!.exec_info })).toMatchObject({ result_code: 'OK', result_percentage: [42, 1], out_file: expect.stringMatching(/@\d+$/) });
      expect(await batch({ ...test, exe_file: compiled.bad!.out_file })).toMatchObject({ result_code: 'WA', result_string: `expected ${t * 11}, got ${-9 * t}` });
    }
    const stored = await raw(server.url, 'GET', '/files/sub/out/2');
    expect(stored.status).toBe(200);
  });

  it('bad input gets SE or CE with a clear reason, never a crash', async () => {
    expect(await batch({ job_type: 'compile', source_file: '/p/sum/Main.java', out_file: '/sub/Main.e' })).toMatchObject({ result: 'SUCCESS', result_code: 'CE', compiler_output: expect.stringMatching(/incompatible types/) });
    expect(await batch({ job_type: 'compile', source_file: '/p/sum/sol.cob', out_file: '/sub/cob.e' })).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(/cannot tell the language/) });
    expect(await batch({ job_type: 'interactive-exec', exe_file: compiled.sol!.out_file, in_file: '/p/sum/1.in' })).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(/needs "interactor_file"/) });
    expect(await batch({ job_type: 'exec', exe_file: compiled.sol!.out_file, in_file: '/p/sum/1.in', hint_file: '/p/sum/1.hint', check_output: true, chk_file: compiled.crash!.out_file })).toMatchObject({
      result: 'SUCCESS',
      result_code: 'SE',
      result_string: 'checker: program exited due to signal 11',
    });
  });
});

describe('through a real worker (sluice submit, sluice wait)', () => {
  let worker: Awaited<ReturnType<typeof startWorker>>;
  beforeAll(async () => {
    worker = await startWorker(h.env, ['--concurrency', '2']);
  });
  afterAll(async () => {
    worker.kill('SIGTERM');
    await exited(worker);
  });

  async function job(environ: Environ): Promise<Environ> {
    const id = (await sluice(['submit', '--environ', '-'], h.env, JSON.stringify({ filetracker_url: server.url, ...environ }))).stdout.trim();
    const r = await sluice(['wait', '--json', '--timeout', '60', id], h.env);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { output: Environ }).output;
  }

  it('an interactive task: compile the interactor and the program, then judge', async () => {
    const [soc, sol] = await Promise.all([job({ job_type: 'compile', source_file: '/p/guess/soc.c', out_file: '/guess/soc' }), job({ job_type: 'compile', source_file: '/p/guess/sol.c', out_file: '/guess/sol' })]);
    const out = await job({ job_type: 'interactive-exec', exe_file: sol.out_file, interactor_file: soc.out_file, in_file: '/p/guess/1.in', num_processes: 2, exec_time_limit: 1000, out_file: '/guess/out' });
    expect(out).toMatchObject({ result_code: 'OK', result_string: 'guessed by 2', result_percentage: [100, 1], out_file: expect.stringMatching(/^\/guess\/out@\d+$/) });
  });

  it('ingen stores the tests it writes; inwer checks them', async () => {
    const [gen, wer] = await Promise.all([job({ job_type: 'compile', source_file: '/p/gen/ingen.c', out_file: '/gen/ingen' }), job({ job_type: 'compile', source_file: '/p/gen/inwer.c', out_file: '/gen/inwer' })]);
    const made = await job({ job_type: 'ingen', exe_file: gen.out_file, re_string: '.*\\.upload', collected_files_path: '/gen/tests' });
    expect(made).toMatchObject({ result_code: 'OK', stdout: ['Everything OK', 'Really'] });
    expect(Object.keys(made.collected_files as object).sort()).toEqual(['five.five.upload', 'two.upload']);
    expect((made.collected_files as Record<string, string>)['two.upload']).toMatch(/^\/gen\/tests\/two\.upload@\d+$/);
    expect((await raw(server.url, 'GET', '/files/gen/tests/two.upload')).text).toBe('2\n');
    expect(await job({ job_type: 'inwer', exe_file: wer.out_file, in_file: '/p/gen/ok.in', in_file_name: 'ok.in' })).toMatchObject({ result_code: 'OK', stdout: ['OK'] });
    expect(await job({ job_type: 'inwer', exe_file: wer.out_file, in_file: '/p/gen/bad.in' })).toMatchObject({ result_code: 'WA', result_string: 'WRONG' });
  });

  it('sio2jail-exec judges by CPU time and says so', async () => {
    const sol = await job({ job_type: 'compile', source_file: '/p/sum/sol.cpp', out_file: '/sum/sol' });
    const out = await job({ job_type: 'sio2jail-exec', exe_file: sol.out_file, in_file: '/p/sum/1.in', hint_file: '/p/sum/1.hint', check_output: true });
    expect(out).toMatchObject({ result_code: 'OK', time_measure: 'cpu', num_instructions: null, time_measure_note: expect.stringMatching(/^CPU time, not instructions: /) });
  });
});
