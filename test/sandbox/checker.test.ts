import { beforeAll, describe, expect, it } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { file, program, requireSandboxTools, runJob, scratch } from './helpers.js';

requireSandboxTools();

const dir = scratch();
let n = 0;
const tmp = (content: string) => file(dir, `f${++n}`, content);

/** `echo` copies its input, so the input is exactly the output being checked. */
async function check(output: string, extra: Environ): Promise<Environ> {
  const out = await runJob({
    job_type: 'exec',
    exe_file: await program('echo'),
    in_file: tmp(output),
    exec_time_limit: 2000,
    check_output: true,
    ...extra,
  });
  if (out.result !== 'SUCCESS') throw new Error(`job failed: ${out.exception}`);
  return out;
}

const printing = (output: string, exit = 0) => program('chk_print', { CHK_OUTPUT: output, CHK_EXIT: exit });

beforeAll(async () => {
  await Promise.all(['echo', 'chk_compare', 'chk_crash', 'chk_echo', 'chk_where', 'rawbytes', 'flood', 'loop'].map((p) => program(p)));
}, 120_000);

describe('default comparison through the exec job', () => {
  it.each([
    ['trailing spaces', '1 2\n', '1 2   \n', 'OK'],
    ['an extra blank line at the end', '42\n', '42\n\n', 'OK'],
    ['a missing final newline', '42\n', '42', 'OK'],
    ['a blank line in the middle', '1\n2\n', '1\n\n2\n', 'WA'],
    ['1 against 1.0', '1\n', '1.0\n', 'WA'],
  ])('%s: %s', async (_name, hint, output, expected) => {
    const out = await check(output, { hint_file: tmp(hint) });
    expect(out.result_code).toBe(expected);
    expect(out.result_percentage).toEqual(expected === 'OK' ? [100, 1] : [0, 1]);
  });
});

describe('custom checker protocol', () => {
  it('OK with a comment and a percentage (chk in out hint)', async () => {
    const out = await check('84\n', { hint_file: tmp('84\n'), chk_file: await program('chk_compare') });
    expect(out).toMatchObject({ result_code: 'OK', result_string: 'OK', result_percentage: [42, 1] });
    const wrong = await check('85\n', { hint_file: tmp('84\n'), chk_file: await program('chk_compare') });
    expect(wrong).toMatchObject({ result_code: 'WA', result_string: 'expected 84, got 85', result_percentage: [0, 1] });
  });

  it.each([
    ['OK\\n\\n42.5\\n', 0, { result_code: 'OK', result_percentage: [85, 2], result_string: 'ok' }],
    ['OK\\n\\n84/2\\n', 0, { result_code: 'OK', result_percentage: [42, 1] }],
    ['OK\\nwell done\\n', 0, { result_code: 'OK', result_percentage: [100, 1], result_string: 'well done' }],
    ['WRONG\\nbad answer\\n', 1, { result_code: 'WA', result_string: 'bad answer', result_percentage: [0, 1] }],
    ['', 1, { result_code: 'WA', result_string: '' }],
    ['OK\\n', 2, { result_code: 'SE', result_string: 'checker exited with code 2' }],
    ['OK\\n\\nabc\\n', 0, { result_code: 'SE' }],
  ])('a checker printing %j and exiting %i', async (text, exit, expected) => {
    const out = await check('1\n', { hint_file: tmp('1\n'), chk_file: await printing(JSON.parse(`"${text}"`), exit) });
    expect(out).toMatchObject(expected);
  });

  it('a checker that crashes or runs out of time is SE with the reason, not a verdict against the program', async () => {
    const crash = await check('1\n', { hint_file: tmp('1\n'), chk_file: await program('chk_crash') });
    expect(crash).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: 'checker: program exited due to signal 11' });
    const slow = await check('1\n', { hint_file: tmp('1\n'), chk_file: await program('loop'), checker_time_limit: 200 });
    expect(slow).toMatchObject({ result_code: 'SE', result_string: 'checker: time limit exceeded' });
  });

  it('comments are valid UTF-8 even from raw bytes, and capped at 1024 bytes', async () => {
    const raw = await runJob({
      job_type: 'exec',
      exe_file: await program('rawbytes'),
      check_output: true,
      hint_file: tmp('x\n'),
      chk_file: await program('chk_echo'),
    });
    expect(raw.result_code).toBe('OK');
    const comment = String(raw.result_string);
    expect(comment).toContain('\ufffd');
    expect(comment).toContain('ABC');
    expect(Buffer.from(comment, 'utf8').toString('utf8')).toBe(comment);

    const long = await runJob({
      job_type: 'exec',
      exe_file: await program('flood'),
      in_file: tmp('64'),
      check_output: true,
      hint_file: tmp('x\n'),
      chk_file: await program('chk_echo'),
    });
    expect(long.result_code).toBe('OK');
    expect(Buffer.byteLength(String(long.result_string))).toBe(1024);
    expect(String(long.result_string).endsWith('[...]')).toBe(true);
  });

  it('checking needs a hint', async () => {
    const out = await runJob({ job_type: 'exec', exe_file: await program('echo'), check_output: true });
    expect(out).toMatchObject({ result: 'FAILURE' });
    expect(out.exception).toMatch(/hint_file/);
  });
});

describe('checker_format (oicompare\'s report formats)', () => {
  it.each([
    ['english_abbreviated', 'WRONG: line 1: expected "42", got "43"'],
    ['english_terse', 'WRONG'],
    ['english_full', 'WRONG: line 1: expected "42", got "43"'],
    ['polish_terse', 'ŹLE'],
    ['polish_abbreviated', 'ŹLE: wiersz 1: oczekiwano "42", otrzymano "43"'],
    ['polish_full', 'ŹLE: wiersz 1: oczekiwano "42", otrzymano "43"'],
  ])('%s', async (checker_format, message) => {
    expect(await check('43\n', { hint_file: tmp('42\n'), checker_format })).toMatchObject({ result_code: 'WA', result_string: message });
  });

  it('abbreviated cuts a long word, full does not; an unknown format is SE', async () => {
    const word = 'y'.repeat(150);
    expect((await check(`${word}\n`, { hint_file: tmp('x\n') })).result_string).toBe(`WRONG: line 1: expected "x", got "${'y'.repeat(100)}…"`);
    expect((await check(`${word}\n`, { hint_file: tmp('x\n'), checker_format: 'english_full' })).result_string).toBe(`WRONG: line 1: expected "x", got "${word}"`);
    expect(await check('1\n', { hint_file: tmp('1\n'), checker_format: 'klingon_full' })).toMatchObject({ result_code: 'SE', result_string: expect.stringMatching(/^unknown checker_format "klingon_full"/) });
  });
});

describe('untrusted_checker', () => {
  const where = async (job_type: string, untrusted_checker: boolean) =>
    (await runJob({ job_type, exe_file: await program('echo'), in_file: tmp('1\n'), check_output: true, hint_file: tmp('1\n'), chk_file: await program('chk_where'), untrusted_checker })).result_string;

  it('the exec family runs every checker in the sandbox, whatever the key says (oioioi sends false by default)', async () => {
    expect(await where('exec', true)).toBe('sandboxed');
    expect(await where('exec', false)).toBe('sandboxed');
  });

  it('unsafe-exec (trusted) runs it unsandboxed unless untrusted_checker is true', async () => {
    expect(await where('unsafe-exec', false)).toBe('host');
    expect(await where('unsafe-exec', true)).toBe('sandboxed');
  });
});
