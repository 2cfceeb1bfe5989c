import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, run } from '../src/environ/index.js';
import { builtinRegistry } from '../src/jobs/index.js';
import { sluice } from './helpers/cli.js';
import { testScope } from './helpers/scope.js';

const registry = builtinRegistry({ nodeModules: [], pluginModules: [] });
const variablesOf = (envOutput: string) => Object.fromEntries(envOutput.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));

/** What a `system` unit sees: its input, its identity, and only the allowed part of its worker's environment. */
describe('system jobs: input and environment', () => {
  const t = testScope();

  it('a map unit gets its input as SLUICE_INPUT and on stdin, and its job id and index', async () => {
    const { env } = t.home();
    const cmd = 'echo "$SLUICE_INPUT"; read -r line; echo "stdin $line"; echo "$SLUICE_JOB_ID $SLUICE_UNIT_INDEX"';
    const r = await sluice(['submit', '--inputs', '-', '--cmd-type', 'system', '--cmd', cmd, '--block', '--json'], env, '"a"\n{"b": [1, 2]}\n');
    expect(r.code).toBe(0);
    const record = JSON.parse(r.stdout);
    expect(record.result.map((u: { stdout: string }) => u.stdout)).toEqual([
      `"a"\nstdin "a"\n${record.id} 0\n`,
      `{"b":[1,2]}\nstdin {"b":[1,2]}\n${record.id} 1\n`,
    ]);
  });

  it('the exact repro of issue 8 (defect 4) prints each input', async () => {
    const { env } = t.home();
    const r = await sluice(['submit', '--inputs', '-', '--cmd-type', 'system', '--cmd', 'echo "$SLUICE_INPUT"', '--block', '--json'], env, '"a"\n"b"\n');
    expect(JSON.parse(r.stdout).result.map((u: { stdout: string }) => u.stdout)).toEqual(['"a"\n', '"b"\n']);
  });

  it("sees none of its worker's SLUICE_* settings or other secrets, only the allow-list and SLUICE_JOB_ENV names", async () => {
    const { env, home: dir } = t.home({ SLUICE_SECRET_TEST: 'x', AWS_SECRET_ACCESS_KEY: 'y', EXTRA_OK: 'z', SLUICE_JOB_ENV: 'EXTRA_OK, SLUICE_SECRET_TEST', TZ: 'Europe/Warsaw' });
    await t.worker(env);
    const r = await sluice(['submit', '--cmd-type', 'system', '--cmd', 'env', '--block', '--json'], env);
    const seen = variablesOf(JSON.parse(r.stdout).result.stdout);
    expect(Object.keys(seen).filter((name) => name.startsWith('SLUICE_')).sort()).toEqual(['SLUICE_JOB_ID', 'SLUICE_UNIT_INDEX']);
    expect(seen).not.toHaveProperty('AWS_SECRET_ACCESS_KEY');
    expect(seen).toMatchObject({ PATH: process.env.PATH, TZ: 'Europe/Warsaw', EXTRA_OK: 'z' });
    expect(JSON.stringify(seen)).not.toContain(dir);
  });

  it('an input too long for a variable is on stdin only', async () => {
    const out = await run({ job_type: 'system', input: 'x'.repeat(200_000), cmd: 'echo "${#SLUICE_INPUT}"; wc -c' }, { registry });
    expect(out.stdout).toMatch(/^0\n\s*200003\n$/);
  });

  it('a job without input reads an empty stdin and has no SLUICE_INPUT', async () => {
    const out = await run({ job_type: 'system', cmd: 'echo "[${SLUICE_INPUT-unset}]"; cat; echo end' }, { registry });
    expect(out.stdout).toBe('[unset]\nend\n');
  });

  it('keeps the output limit, the exit code and the signal', async () => {
    const big = await run({ job_type: 'system', output_limit: 10, cmd: 'printf 0123456789abcdef; printf err >&2' }, { registry });
    expect(big).toMatchObject({ result: 'SUCCESS', stdout: '0123456789\n[... 6 more bytes not kept]', stderr: 'err' });
    const killed = await run({ job_type: 'system', cmd: 'kill -TERM $$' }, { registry });
    expect(killed).toMatchObject({ result: 'FAILURE', return_code: 143, exit_signal: 'SIGTERM' });
    expect((await run({ job_type: 'system', cmd: 'exit 5' }, { registry })).return_code).toBe(5);
  });
});


describe('without the built reaper (a build without gcc)', () => {
  // A copy of the built package without dist/native/sluice-reap.
  const copy = mkdtempSync(path.join(os.tmpdir(), 'sluice-nocc-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(path.join(PACKAGE_ROOT, 'package.json'), path.join(copy, 'package.json'));
  cpSync(path.join(PACKAGE_ROOT, 'dist'), path.join(copy, 'dist'), { recursive: true });
  rmSync(path.join(copy, 'dist', 'native', 'sluice-reap'));
  symlinkSync(path.join(PACKAGE_ROOT, 'node_modules'), path.join(copy, 'node_modules'));
  const batch = (environ: object) => {
    const out = execFileSync(process.execPath, [path.join(copy, 'dist', 'cli', 'main.js'), 'batch'], { env: { ...process.env, environ: JSON.stringify(environ) }, encoding: 'utf8' });
    return JSON.parse(out.split('\n')[1]!);
  };

  it('a system job fails naming the missing file', () => {
    expect(batch({ job_type: 'system', cmd: 'true' }).exception).toBe(
      `Error: system jobs need ${path.join(copy, 'dist', 'native', 'sluice-reap')}, which is missing: install gcc (apt-get install gcc), then npm run build`,
    );
  });

  it('js jobs still run', () => {
    expect(batch({ job_type: 'js', cmd: 'return 6 * 7' })).toMatchObject({ result: 'SUCCESS', value: 42 });
  });

  it('the build says which helpers it cannot build without a C compiler', () => {
    const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: PACKAGE_ROOT, env: { ...process.env, CC: 'no-such-cc' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^sluice: no C compiler \("no-such-cc"\) found; install gcc .*sluice-reap, for system and js jobs/);
  });
});
