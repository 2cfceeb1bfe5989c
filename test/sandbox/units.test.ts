import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareOutputs } from '../../src/sandbox/compare.js';
import { parseFraction } from '../../src/sandbox/fraction.js';
import { readCheckerOutput } from '../../src/sandbox/checkerProtocol.js';
import { deriveVerdict, type Verdict } from '../../src/sandbox/verdict.js';
import { interactiveVerdict } from '../../src/jobs/interactive.js';
import { programEnd, type HelperReport } from '../../src/sandbox/report.js';
import { capResultString, cutUtf8, outputText } from '../../src/sandbox/text.js';
import { limitsFrom, EXEC_DEFAULTS } from '../../src/sandbox/limits.js';
import { onlyMember } from '../../src/sandbox/unzip.js';
import { readBoxFile, UnsafeFileError } from '../../src/sandbox/box.js';
import { findCompiler } from '../../src/sandbox/compilers.js';
import { diskSize } from '../../src/sandbox/disk.js';
import { zip } from './helpers.js';

const cmp = (expected: string, output: string) => compareOutputs(Buffer.from(expected), Buffer.from(output));

describe('default comparison (oicompare rules)', () => {
  it('accepts equal outputs and ignores trailing spaces, CR, tabs and runs of separators', () => {
    expect(cmp('1 2 3\n4\n', '1 2 3\n4\n').ok).toBe(true);
    expect(cmp('1 2 3\n', '1 2 3   \n').ok).toBe(true);
    expect(cmp('1 2 3\n', '  1\t2  3\r\n').ok).toBe(true);
    expect(cmp('1 2 3\n', '1 2 3').ok).toBe(true);
  });

  it('ignores extra empty lines at the end of either file', () => {
    expect(cmp('42\n', '42\n\n\n').ok).toBe(true);
    expect(cmp('42\n\n\n', '42').ok).toBe(true);
    expect(cmp('', '\n\n').ok).toBe(true);
  });

  it('keeps the line structure: a blank line in the middle, or words on other lines, differ', () => {
    expect(cmp('1\n2\n', '1\n\n2\n')).toEqual({ ok: false, message: 'WRONG: line 2: expected "2", got end of line' });
    expect(cmp('A B\n', 'A\nB\n')).toEqual({ ok: false, message: 'WRONG: line 1: expected "B", got end of line' });
  });

  it('compares words exactly: 1 is not 1.0', () => {
    expect(cmp('1\n', '1.0\n')).toEqual({ ok: false, message: 'WRONG: line 1: expected "1", got "1.0"' });
    expect(cmp('abc\nDEF\n', 'abc\nABC\n')).toEqual({ ok: false, message: 'WRONG: line 2: expected "DEF", got "ABC"' });
  });

  it('reports a missing or an extra word, and a file that ends early or goes on', () => {
    expect(cmp('1 2\n', '1\n').message).toBe('WRONG: line 1: expected "2", got end of line');
    expect(cmp('1\n', '1 2\n').message).toBe('WRONG: line 1: expected end of line, got "2"');
    expect(cmp('1\n2\n', '1\n').message).toBe('WRONG: line 2: expected "2", got end of file');
    expect(cmp('1\n', '1\n\n3\n').message).toBe('WRONG: line 3: expected end of file, got "3"');
  });

  it('shows bytes that are not printable as <0xHH> and cuts long words', () => {
    expect(cmp('a\n', 'a\u0001b\n'.replace('\u0001', '\x7f')).message).toBe('WRONG: line 1: expected "a", got "a<0x7F>b"');
    const long = 'x'.repeat(300);
    expect(cmp('y\n', `${long}\n`).message).toBe(`WRONG: line 1: expected "y", got "${'x'.repeat(100)}…"`);
  });
});

describe('checker percentages (Python Fraction syntax)', () => {
  it.each([
    ['42', [42, 1]],
    ['42.123', [42123, 1000]],
    ['42.5', [85, 2]],
    ['42/21', [2, 1]],
    ['84/2', [42, 1]],
    ['007/0042', [1, 6]],
    ['1e5', [100000, 1]],
    [' 100 ', [100, 1]],
    ['-3', [-3, 1]],
  ])('%s is %j', (text, expected) => expect(parseFraction(text)).toEqual(expected));

  it.each(['42 2', '42,2', '42/', '/42', '42/0', 'abc', '42/2.1', '42/2/1', ''])('%j is not a number', (text) => {
    expect(parseFraction(text)).toBeUndefined();
  });
});

describe('checker protocol', () => {
  const read = (text: string, code = 0) => readCheckerOutput(Buffer.from(text), code);
  it('OK with a comment and a percentage', () => {
    expect(read('OK\nnice\n42\n')).toEqual({ result: 'OK', comment: 'nice', percentage: [42, 1] });
    expect(read('OK\n\n84/2\n')).toEqual({ result: 'OK', comment: '', percentage: [42, 1] });
    expect(read('OK\n')).toEqual({ result: 'OK', comment: '', percentage: [100, 1] });
    expect(read('OK')).toEqual({ result: 'OK', comment: '', percentage: [100, 1] });
  });
  it('anything but exactly OK on line 1 is WA, with line 2 as the comment', () => {
    expect(read('WRONG\nexpected 3\n')).toEqual({ result: 'WA', comment: 'expected 3', percentage: [0, 1] });
    expect(read('ok\n')).toMatchObject({ result: 'WA' });
    expect(read(' OK\n')).toMatchObject({ result: 'WA' });
    expect(read('', 1)).toEqual({ result: 'WA', comment: '', percentage: [0, 1] });
  });
  it('a bad percentage or an exit code of 2 or more is the checker failing', () => {
    expect(read('OK\n\nabc\n')).toMatchObject({ result: 'SE' });
    expect(read('OK\n', 2)).toEqual({ result: 'SE', reason: 'checker exited with code 2' });
  });
  it('comments are valid UTF-8 and at most 1024 bytes', () => {
    const bytes = Buffer.concat([Buffer.from('OK\n'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('é'.repeat(2000)), Buffer.from('\n')]);
    const said = readCheckerOutput(bytes, 0);
    expect(said.result).toBe('OK');
    const comment = (said as { comment: string }).comment;
    expect(Buffer.byteLength(comment)).toBeLessThanOrEqual(1024);
    expect(comment.endsWith('[...]')).toBe(true);
    expect(comment.startsWith('\ufffd\ufffdA')).toBe(true);
    expect(Buffer.from(comment, 'utf8').toString('utf8')).toBe(comment);
  });
});

describe('text', () => {
  it('cuts UTF-8 on character boundaries', () => {
    expect(cutUtf8('ééé', 3)).toBe('é');
    expect(capResultString('a'.repeat(2000))).toBe(`${'a'.repeat(1019)}[...]`);
    expect(outputText(Buffer.from([0x61, 0xc3]), 10)).toBe('a\ufffd');
  });
});

const report = (r: Partial<HelperReport>): HelperReport => ({ cpu_ms: 1, user_ms: 1, sys_ms: 0, wall_ms: 2, max_rss_kb: 1000, ...r });
const limits = { timeMs: 1000, realTimeMs: 4000, memKb: 65536, outputBytes: 1000, processes: 16, diskBytes: 1 << 20 };
/** A sandboxed run whose program ended so (its pid 1's report); the pid 1 exits as a shell would. */
const sandboxed = (end: { code: number } | { signal: number }, r: Partial<HelperReport> = {}) => {
  const program = 'code' in end ? { program_exit_code: end.code } : { program_signal: end.signal };
  const code = 'code' in end ? end.code : 128 + end.signal;
  const rep = report({ exit_code: code, ...program, ...r });
  return deriveVerdict(rep, programEnd(rep, true), limits);
};

describe('verdicts', () => {
  it('follow the order SE, TLE, wall TLE, MLE, OLE, disk OLE, RV, OK, RE', () => {
    expect(sandboxed({ code: 0 })).toMatchObject({ result_code: 'OK', result_string: 'ok', return_code: 0 });
    expect(sandboxed({ code: 3 })).toMatchObject({ result_code: 'RE', result_string: 'program exited with code 3', return_code: 3 });
    expect(sandboxed({ signal: 11 })).toMatchObject({ result_code: 'RE', result_string: 'program exited due to signal 11', exit_signal: 11 });
    expect(sandboxed({ signal: 31 })).toMatchObject({ result_code: 'RV' });
    expect(sandboxed({ code: 0 }, { cpu_ms: 1000 })).toMatchObject({ result_code: 'TLE', result_string: 'time limit exceeded', time_used: 1000 });
    expect(sandboxed({ signal: 24 })).toMatchObject({ result_code: 'TLE', result_string: 'time limit exceeded' });
    expect(sandboxed({ signal: 9 }, { killed_by: 'wall', wall_ms: 4001 })).toMatchObject({ result_code: 'TLE', result_string: 'real time limit exceeded' });
    expect(sandboxed({ signal: 9 }, { oom_kill: 1 })).toMatchObject({ result_code: 'MLE' });
    expect(sandboxed({ signal: 11 }, { max_rss_kb: 70000 })).toMatchObject({ result_code: 'MLE', mem_used: 70000 });
    expect(sandboxed({ signal: 25 }, { output_bytes: 1001 })).toMatchObject({ result_code: 'OLE', result_string: 'output limit exceeded' });
    expect(sandboxed({ signal: 9 }, { killed_by: 'disk', disk_bytes: 2 << 20 })).toMatchObject({ result_code: 'OLE', result_string: 'disk limit exceeded' });
    expect(sandboxed({ code: 1 }, { disk_bytes: (1 << 20) + 1 })).toMatchObject({ result_code: 'OLE', result_string: 'disk limit exceeded' });
    expect(sandboxed({ code: 0 }, { disk_bytes: 1 << 20 })).toMatchObject({ result_code: 'OK' });
    expect(sandboxed({ signal: 9 }, { killed_by: 'cpu', cpu_ms: 1003, oom_kill: 1 })).toMatchObject({ result_code: 'TLE' });
  });

  it('take the signal from the wait status, never from the exit code: exit(152) is RE with code 152, not SIGXCPU', () => {
    expect(sandboxed({ code: 152 })).toMatchObject({ result_code: 'RE', result_string: 'program exited with code 152', return_code: 152 });
    expect(sandboxed({ code: 139 })).toMatchObject({ result_code: 'RE', return_code: 139 });
    expect(sandboxed({ code: 153 }, { output_bytes: 10 })).toMatchObject({ result_code: 'RE', return_code: 153 });
  });

  it('a sandbox that failed before the program started is SE, not RE', () => {
    const rep = report({ exit_code: 127, error: 'cannot bind /tmp/usr: Invalid argument' });
    expect(deriveVerdict(rep, programEnd(rep, true), limits)).toMatchObject({ result_code: 'SE', result_string: 'sandbox error: cannot bind /tmp/usr: Invalid argument' });
  });

  it('an OOM kill is MLE even when the program\'s status was lost; a lost status without one is SE', () => {
    const killed = report({ signal: 9, oom_kill: 1 });
    expect(deriveVerdict(killed, programEnd(killed, true), limits)).toMatchObject({ result_code: 'MLE', result_string: 'memory limit exceeded' });
    const lost = report({ signal: 9 });
    expect(deriveVerdict(lost, programEnd(lost, true), limits)).toMatchObject({ result_code: 'SE', result_string: "the sandbox's pid 1 was killed by signal 9 without the program's status" });
  });

  it('without a sandbox the signal is the real one', () => {
    const rep = report({ signal: 6 });
    expect(deriveVerdict(rep, programEnd(rep, false), limits)).toMatchObject({ result_code: 'RE', exit_signal: 6 });
  });
});

describe('limits', () => {
  it('reads exec_* keys with sioworkers defaults, and a wall limit from the CPU limit', () => {
    expect(limitsFrom({}, 'exec_', EXEC_DEFAULTS)).toEqual({ ...EXEC_DEFAULTS, realTimeMs: 91_000 });
    expect(limitsFrom({ exec_time_limit: 500, exec_mem_limit: 1024, exec_real_time_limit: 700 }, 'exec_', EXEC_DEFAULTS)).toMatchObject({
      timeMs: 500,
      memKb: 1024,
      realTimeMs: 700,
    });
    expect(() => limitsFrom({ exec_time_limit: 'soon' }, 'exec_', EXEC_DEFAULTS)).toThrow(/exec_time_limit/);
    expect(EXEC_DEFAULTS.diskBytes).toBe(256 * 1024 * 1024);
    expect(limitsFrom({ exec_disk_limit: 1 << 20, checker_disk_limit: 5 }, 'exec_', EXEC_DEFAULTS).diskBytes).toBe(1 << 20);
  });
});

describe('run disks', () => {
  it('come in powers of two from 512 MiB, with room for the limit, what is staged and some more', () => {
    const MiB = 1024 * 1024;
    expect(diskSize(256 * MiB)).toBe(512 * MiB);
    expect(diskSize(1 * MiB)).toBe(512 * MiB);
    expect(diskSize(256 * MiB, 300 * MiB)).toBe(1024 * MiB);
    expect(diskSize(10 * 1024 * MiB)).toBe(16 * 1024 * MiB);
  });
});

describe('zip inputs', () => {
  it('unpacks the one member and refuses two', () => {
    expect(onlyMember(zip({ input: '42 42\n' })).toString()).toBe('42 42\n');
    expect(() => onlyMember(zip({ a: '1', b: '2' }))).toThrow(/2 members/);
  });
});

describe('reading files a program could have touched', () => {
  it('refuses symlinks and FIFOs, reads regular files', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-box-test-'));
    writeFileSync(path.join(dir, 'secret'), 'host data');
    symlinkSync(path.join(dir, 'secret'), path.join(dir, 'a.out'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    await expect(readBoxFile(path.join(dir, 'a.out'), 100)).rejects.toBeInstanceOf(UnsafeFileError);
    await expect(readBoxFile(path.join(dir, 'fifo'), 100)).rejects.toBeInstanceOf(UnsafeFileError);
    expect(await readBoxFile(path.join(dir, 'missing'), 100)).toBeUndefined();
    expect((await readBoxFile(path.join(dir, 'secret'), 4))?.data.toString()).toBe('host');
  });
});

describe('compiler choice', () => {
  it('by name, by alias, by extension; unknown names list the known ones', () => {
    expect(findCompiler('default-c', 'x.cpp')).toMatchObject({ name: 'gcc-c' });
    expect(findCompiler(undefined, 'sol.cpp')).toMatchObject({ name: 'g++-cpp' });
    expect(findCompiler(undefined, 'sol.CC')).toMatchObject({ name: 'g++-cpp' });
    expect(findCompiler('gcc.4_8_2', 'x')).toMatchObject({ name: 'gcc-c' });
    expect(findCompiler('output-only', 'x.txt')).toBe('output-only');
    expect(() => findCompiler('cobol', 'x.cob')).toThrow(/unknown compiler "cobol"; known compilers: .*default-c/);
    expect(() => findCompiler(undefined, 'x.xyz')).toThrow(/cannot tell the language/);
  });
});

describe('interactive verdicts (interactiveVerdict)', () => {
  const v = (result_code: Verdict['result_code'], extra: Partial<Verdict> = {}): Verdict => ({ result_code, result_string: '', time_used: 10, real_time_used: 20, mem_used: 1000, ...extra });
  const said = (text: string) => Buffer.from(text);
  const ok = v('OK');
  const exited = v('RE', { result_string: 'program exited with code 1', return_code: 1 });
  const piped = v('RE', { result_string: 'program exited due to signal 13', exit_signal: 13 });

  it('the program\'s own failure (a limit, a signal) wins over whatever the interactor says', () => {
    expect(interactiveVerdict([v('TLE')], ok, said('OK\n')).verdict.result_code).toBe('TLE');
    expect(interactiveVerdict([v('RE', { exit_signal: 11 })], piped, said('WRONG\n')).verdict.result_code).toBe('RE');
    expect(interactiveVerdict([ok, v('MLE')], ok, said('OK\n')).verdict.result_code).toBe('MLE');
  });

  it('the interactor\'s WRONG wins over a program that exited with an error on the end of its input; its OK does not', () => {
    expect(interactiveVerdict([exited], ok, said('WRONG\ntoo slow\n')).verdict).toMatchObject({ result_code: 'WA', result_string: 'too slow' });
    expect(interactiveVerdict([exited], ok, said('OK\n')).verdict).toMatchObject({ result_code: 'RE', return_code: 1 });
    expect(interactiveVerdict([piped], ok, said('OK\nfine\n50\n'))).toMatchObject({ verdict: { result_code: 'OK', result_string: 'fine' }, percentage: [50, 1] });
  });

  it('an interactor that failed: TLE when out of time, else SE; by SIGPIPE: the program left early', () => {
    expect(interactiveVerdict([ok], v('TLE', { result_string: 'time limit exceeded' }), said('')).verdict.result_string).toMatch(/^interactor time limit exceeded/);
    expect(interactiveVerdict([exited], v('RE', { exit_signal: 11, result_string: 'program exited due to signal 11' }), said('')).verdict).toMatchObject({ result_code: 'SE', result_string: 'interactor: program exited due to signal 11' });
    expect(interactiveVerdict([ok], piped, said('')).verdict).toMatchObject({ result_code: 'WA', result_string: 'solution exited prematurely' });
    expect(interactiveVerdict([ok], ok, said('')).verdict).toMatchObject({ result_code: 'SE', result_string: 'the interactor printed no verdict' });
  });

  it('the figures are the largest of all copies; a bad percentage is SE', () => {
    const out = interactiveVerdict([v('OK', { time_used: 5 }), v('OK', { time_used: 7, mem_used: 3000 })], ok, said('OK\n'));
    expect(out.verdict).toMatchObject({ time_used: 7, mem_used: 3000 });
    expect(interactiveVerdict([ok], ok, said('OK\n\nabc\n')).verdict.result_code).toBe('SE');
  });
});
