import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { file, program, requireSandboxTools, runJob, scratch } from './helpers.js';

requireSandboxTools();

/* The package jobs oioioi sends when a problem is uploaded (sioworkers' tests, notes §8.4). */
const dir = scratch();

beforeAll(async () => {
  await Promise.all([program('ingen'), program('ingen_fail'), program('inwer'), program('inwer', { NEED_ARG: 1 }), program('bigoutput'), program('readfile', { SECRET: '/etc/passwd' })]);
}, 120_000);

describe('ingen: runs a generator in the sandbox and collects the files it wrote', () => {
  it('collects exactly the files matching re_string (anchored at the start) under collected_files_path; stdout is its output as lines', async () => {
    const target = path.join(dir, 'somedir');
    const out = await runJob({ job_type: 'ingen', exe_file: await program('ingen'), re_string: '.*\\.upload', collected_files_path: target });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'OK', return_code: 0, stdout: ['Everything OK', 'Really'] });
    expect(out.collected_files).toEqual({ 'two.upload': path.join(target, 'two.upload'), 'five.five.upload': path.join(target, 'five.five.upload') });
    expect(readFileSync(path.join(target, 'two.upload'), 'utf8')).toBe('2\n');
    expect(readFileSync(path.join(target, 'five.five.upload'), 'utf8')).toBe('5\n');
    expect(existsSync(path.join(target, 'one.txt'))).toBe(false);
    const other = await runJob({ job_type: 'ingen', exe_file: await program('ingen'), re_string: '.*_upload', collected_files_path: path.join(dir, 'other') });
    expect(Object.keys(other.collected_files as object)).toEqual(['three_upload']);
  });

  it('its output is cut to ingen_output_limit (not a verdict); a generator that fails collects nothing', async () => {
    const big = await runJob({ job_type: 'ingen', exe_file: await program('bigoutput'), re_string: 'x', collected_files_path: path.join(dir, 'big'), ingen_output_limit: 50 });
    expect(big).toMatchObject({ result_code: 'OK', stdout: ['A'.repeat(50)], collected_files: {} });
    const failed = await runJob({ job_type: 'ingen', exe_file: await program('ingen_fail'), re_string: '.*', collected_files_path: path.join(dir, 'failed') });
    expect(failed).toMatchObject({ result: 'SUCCESS', result_code: 'RE', return_code: 3, stdout: ['cannot generate'], collected_files: {} });
  });

  it('runs sandboxed: a generator that reads the host\'s files finds none', async () => {
    const out = await runJob({ job_type: 'ingen', exe_file: await program('readfile', { SECRET: '/etc/passwd' }), re_string: 'x', collected_files_path: path.join(dir, 'nosy') });
    expect(out).toMatchObject({ result_code: 'OK', stdout: ['blocked'] });
  });

  it('a re_string that is not a regular expression is SE saying so', async () => {
    const out = await runJob({ job_type: 'ingen', exe_file: await program('ingen'), re_string: '(', collected_files_path: path.join(dir, 'bad') });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(/^re_string "\(" is not a regular expression/) });
  });
});

describe('inwer: runs an input verifier in the sandbox; OK when its first line starts with OK', () => {
  const inwer = async (input: string, extra: Record<string, unknown> = {}, defines: Record<string, number> = {}) =>
    runJob({ job_type: 'inwer', exe_file: await program('inwer', defines), in_file: file(dir, `in-${Math.random()}`, input), ...extra });

  it('a good input is OK, a bad one WA with the verifier\'s first line', async () => {
    expect(await inwer('10\n')).toMatchObject({ result: 'SUCCESS', result_code: 'OK', stdout: ['OK'] });
    expect(await inwer('-15\n')).toMatchObject({ result_code: 'WA', result_string: 'WRONG', stdout: ['WRONG', 'not a number from 0 to 100'] });
  });

  it('in_file_name is its argument', async () => {
    expect(await inwer('10\n', { in_file_name: 'inwer_ok' }, { NEED_ARG: 1 })).toMatchObject({ result_code: 'OK' });
    expect(await inwer('10\n', { in_file_name: 'inwer_wrong' }, { NEED_ARG: 1 })).toMatchObject({ result_code: 'WA', stdout: ['WRONG', 'the input\'s name is inwer_wrong'] });
  });

  it('more output than inwer_output_limit is OLE', async () => {
    const out = await runJob({ job_type: 'inwer', exe_file: await program('bigoutput'), inwer_output_limit: 50 });
    expect(out).toMatchObject({ result_code: 'OLE', result_string: 'output limit exceeded' });
  });
});
