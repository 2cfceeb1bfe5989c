// The file store end to end with the sandboxed exec job: the program, its input and the hint come
// from the store (through the worker's cache), the output is uploaded and replaced by its versioned
// name. A second run of the same environ downloads nothing: the versioned program is a cache hit
// (no request) and the unversioned input and hint cost one HEAD each.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run } from '../../src/environ/index.js';
import { builtinRegistry } from '../../src/jobs/index.js';
import { JobFiles } from '../../src/files/index.js';
import { requireProgram } from '../helpers/require.js';
import { raw, tempDir, testServer } from './helpers.js';

requireProgram('gcc', 'gcc');

let server: Awaited<ReturnType<typeof testServer>>;
let dir: ReturnType<typeof tempDir>;
let jobFiles: JobFiles;
let fileAccessFor: JobFiles['access'];
let exeName: string;
/** Requests the server received, by method. */
const served: string[] = [];

const SUM_C = `#include <stdio.h>
int main(void) { long long a, s = 0; while (scanf("%lld", &a) == 1) s += a; printf("%lld\\n", s); return 0; }
`;

beforeAll(async () => {
  dir = tempDir();
  jobFiles = new JobFiles({ cacheDir: path.join(dir.dir, 'worker-cache') });
  fileAccessFor = jobFiles.access;
  server = await testServer();
  server.app.server.on('request', (req: { method: string; url: string }) => served.push(`${req.method} ${req.url.split('?')[0]}`));
  writeFileSync(path.join(dir.dir, 'sum.c'), SUM_C);
  execFileSync('gcc', ['-O2', '-o', path.join(dir.dir, 'sum'), path.join(dir.dir, 'sum.c')]);
  // Put the files in with plain HTTP, as another machine would: the worker's cache starts cold.
  const exe = await raw(server.url, 'PUT', '/files/problems/sum/exe', { body: readFileSync(path.join(dir.dir, 'sum')) });
  exeName = JSON.parse(exe.text).name;
  await raw(server.url, 'PUT', '/files/problems/sum/tests/1.in', { body: '1 2 3 4\n' });
  await raw(server.url, 'PUT', '/files/problems/sum/tests/1.hint', { body: '10\n' });
  await raw(server.url, 'PUT', '/files/problems/sum/tests/2.hint', { body: '11\n' });
});
afterAll(async () => {
  jobFiles.close();
  await server.cleanup();
  dir.cleanup();
});

const environ = (extra: Record<string, unknown> = {}) => ({
  job_type: 'exec',
  filetracker_url: server.url,
  exe_file: exeName,
  in_file: '/problems/sum/tests/1.in',
  hint_file: '/problems/sum/tests/1.hint',
  out_file: '/submissions/42/1.out',
  upload_out: true,
  check_output: true,
  exec_time_limit: 2000,
  exec_mem_limit: 65536,
  ...extra,
});

it('an exec job whose program, input and hint come from the store and whose output is uploaded', async () => {
  served.length = 0;
  const input = environ();
  const out = await run(input, { registry: builtinRegistry(), files: fileAccessFor });
  expect(out.result, String(out.traceback)).toBe('SUCCESS');
  expect(out).toMatchObject({ result_code: 'OK' });
  expect(out.result_percentage).toEqual([100, 1]);
  expect(out.out_file).toMatch(/^\/submissions\/42\/1\.out@\d+$/);
  // Cold cache: a GET for the program (versioned), HEAD then GET of that version for input and hint, one PUT.
  const version = (n: string) => n.replace(/@\d+$/, '@V');
  expect(served.map(version).sort()).toEqual(
    [
      `GET /files${version(exeName)}`,
      'HEAD /files/problems/sum/tests/1.in',
      'GET /files/problems/sum/tests/1.in@V',
      'HEAD /files/problems/sum/tests/1.hint',
      'GET /files/problems/sum/tests/1.hint@V',
      'PUT /files/submissions/42/1.out',
    ].sort(),
  );
  expect(served.filter((r) => r.startsWith('PUT'))).toEqual(['PUT /files/submissions/42/1.out']);
  // The output is on the server under that very version.
  const stored = await raw(server.url, 'GET', `/files${out.out_file}`);
  expect(stored.status).toBe(200);
  expect(stored.text).toBe('10\n');

  // Again: the program is a cache hit with no request; input and hint cost a HEAD each; nothing is downloaded.
  served.length = 0;
  const again = await run(environ(), { registry: builtinRegistry(), files: fileAccessFor });
  expect(again).toMatchObject({ result: 'SUCCESS', result_code: 'OK' });
  expect(served.filter((r) => r.startsWith('GET'))).toEqual([]);
  expect(served.filter((r) => r.startsWith('HEAD')).sort()).toEqual(['HEAD /files/problems/sum/tests/1.hint', 'HEAD /files/problems/sum/tests/1.in']);
  expect(served.some((r) => r.includes(exeName))).toBe(false);
});

it('a wrong answer is checked against the hint from the store; upload_out false keeps the output on the worker', async () => {
  served.length = 0;
  const out = await run(environ({ hint_file: '/problems/sum/tests/2.hint', upload_out: false, out_file: '/submissions/43/1.out' }), {
    registry: builtinRegistry(),
    files: fileAccessFor,
  });
  expect(out.result, String(out.traceback)).toBe('SUCCESS');
  expect(out.result_code).toBe('WA');
  expect(out.out_file).toMatch(/^\/submissions\/43\/1\.out@\d+$/);
  expect(served.filter((r) => r.startsWith('PUT'))).toEqual([]);
  expect((await raw(server.url, 'GET', '/files/submissions/43/1.out')).status).toBe(404);
  // ... but this worker's cache has it, under the versioned name the environ now carries.
  const dest = path.join(dir.dir, 'kept.out');
  expect(await jobFiles.tracker(server.url).get(String(out.out_file), dest)).toEqual({ name: out.out_file, fromCache: true });
  expect(readFileSync(dest, 'utf8')).toBe('10\n');
});

it('a missing input fails the job with the name and the environ key', async () => {
  const out = await run(environ({ in_file: '/problems/sum/tests/404.in' }), { registry: builtinRegistry(), files: fileAccessFor });
  expect(out.result).toBe('FAILURE');
  expect(out.exception).toMatch(/in_file.*no file "\/problems\/sum\/tests\/404.in"/);
});

it('compile takes its source from the store and stores the binary under a versioned name that exec then runs', async () => {
  await raw(server.url, 'PUT', '/files/submissions/44/sum.c', { body: SUM_C });
  const compiled = await run(
    { job_type: 'compile', filetracker_url: server.url, source_file: '/submissions/44/sum.c', out_file: '/submissions/44/exe', compiler: 'system-gcc' },
    { registry: builtinRegistry(), files: fileAccessFor },
  );
  expect(compiled.result, String(compiled.traceback)).toBe('SUCCESS');
  expect(compiled.result_code, String(compiled.compiler_output)).toBe('OK');
  expect(compiled.out_file).toMatch(/^\/submissions\/44\/exe@\d+$/);
  // The binary is on the server, not only in this worker's cache: another worker can run it.
  expect((await raw(server.url, 'GET', `/files${compiled.out_file}`)).status).toBe(200);
  const out = await run(environ({ exe_file: compiled.out_file, out_file: '/submissions/44/1.out' }), { registry: builtinRegistry(), files: fileAccessFor });
  expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'OK' });
  expect((await raw(server.url, 'GET', `/files${out.out_file}`)).text).toBe('10\n');
});
