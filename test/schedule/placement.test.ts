import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/environ/errors.js';
import { admit, fits, freeCapacity, IDLE, parseRam, ramNeedMb, unitNeed, whyImpossible, type UnitNeed, type WorkerLoad, type WorkerOffer } from '../../src/schedule/index.js';

const MiB = 1024; // KiB per MiB: environ limits are KiB, as in sioworkers
const offer = (concurrency: number, ramMb: number, exclusive = false): WorkerOffer => ({ concurrency, ramMb, exclusive });
const load = (running: number, ramMb: number, exclusiveRunning = false): WorkerLoad => ({ running, ramMb, exclusiveRunning });
const need = (ramMb: number, exclusive = false): UnitNeed => ({ ramMb, exclusive });

describe("RAM a unit needs (sioworkersd's RAM helper cases)", () => {
  it('cpu-exec: exec_mem_limit, default 64 MiB', () => {
    expect(ramNeedMb({ job_type: 'cpu-exec' })).toBe(64);
    expect(ramNeedMb({ job_type: 'cpu-exec', exec_mem_limit: 128 * MiB })).toBe(128);
  });

  it('with check_output: the larger of that and checker_mem_limit (default 256 MiB)', () => {
    expect(ramNeedMb({ job_type: 'cpu-exec', check_output: true })).toBe(256);
    expect(ramNeedMb({ job_type: 'sio2jail-exec', check_output: true, exec_mem_limit: 768 * MiB, checker_mem_limit: 896 * MiB })).toBe(896);
    expect(ramNeedMb({ job_type: 'exec', check_output: true, exec_mem_limit: 1024 * MiB })).toBe(1024);
    expect(ramNeedMb({ job_type: 'exec', check_output: false, checker_mem_limit: 4096 * MiB })).toBe(64);
  });

  it('other job types: ingen and inwer 256, compile 512, ping 1, unknown 256', () => {
    expect(ramNeedMb({ job_type: 'ingen' })).toBe(256);
    expect(ramNeedMb({ job_type: 'inwer' })).toBe(256);
    expect(ramNeedMb({ job_type: 'compile' })).toBe(512);
    expect(ramNeedMb({ job_type: 'ping' })).toBe(1);
    expect(ramNeedMb({ job_type: 'frobnicate' })).toBe(256);
    expect(ramNeedMb({ job_type: 'constructor' })).toBe(256);
    expect(ramNeedMb({})).toBe(256);
  });

  it('<job_type>_mem_limit overrides each default (KiB), not compilation_mem_limit', () => {
    expect(ramNeedMb({ job_type: 'compile', compile_mem_limit: 1024 * MiB })).toBe(1024);
    expect(ramNeedMb({ job_type: 'compile', compilation_mem_limit: 1024 * MiB })).toBe(512);
    expect(ramNeedMb({ job_type: 'ping', ping_mem_limit: 8 * MiB })).toBe(8);
    expect(ramNeedMb({ job_type: 'inwer', inwer_mem_limit: 100 * MiB })).toBe(100);
  });

  it('rounds KiB up to whole MiB (66,000 KiB is 65 MiB, never less than the limit)', () => {
    expect(ramNeedMb({ job_type: 'exec', exec_mem_limit: 66_000 })).toBe(65);
  });

  it('an explicit `ram` wins: MiB as a number, or a size string', () => {
    expect(ramNeedMb({ job_type: 'cpu-exec', check_output: true, ram: 3000 })).toBe(3000);
    expect(ramNeedMb({ job_type: 'js', ram: '2G' })).toBe(2048);
    expect(ramNeedMb({ job_type: 'compile', ram: '300M' })).toBe(300);
  });

  it('malformed limits are usage errors naming the key', () => {
    expect(() => ramNeedMb({ job_type: 'exec', exec_mem_limit: '64M' })).toThrow(/exec_mem_limit must be a number of KiB >= 0, got "64M"/);
    expect(() => ramNeedMb({ job_type: 'compile', compile_mem_limit: -1 })).toThrow(UsageError);
    expect(() => ramNeedMb({ job_type: 'js', ram: 'lots' })).toThrow(/invalid RAM amount "lots"/);
    expect(() => ramNeedMb({ job_type: 'js', ram: [1] })).toThrow(/ram must be MiB as a number or a size such as "2G"/);
  });

  it('unitNeed marks exclusive job types (given as data) and `exclusive: true`', () => {
    const exclusive = new Set(['cpu-exec']);
    expect(unitNeed({ job_type: 'cpu-exec', check_output: true }, exclusive)).toEqual({ ramMb: 256, exclusive: true });
    expect(unitNeed({ job_type: 'sio2jail-exec' }, exclusive)).toEqual({ ramMb: 64, exclusive: false });
    expect(unitNeed({ job_type: 'system', exclusive: true }, exclusive)).toEqual({ ramMb: 256, exclusive: true });
  });
});

describe('parseRam', () => {
  it('reads MiB, and K/M/G/T sizes (binary), rounding up to whole MiB', () => {
    expect(parseRam('8G')).toBe(8192);
    expect(parseRam('8g')).toBe(8192);
    expect(parseRam('8GiB')).toBe(8192);
    expect(parseRam('8 GB')).toBe(8192);
    expect(parseRam('512M')).toBe(512);
    expect(parseRam('512')).toBe(512);
    expect(parseRam('1.5G')).toBe(1536);
    expect(parseRam('1T')).toBe(1024 * 1024);
    expect(parseRam('65536K')).toBe(64);
    expect(parseRam('1K')).toBe(1);
    expect(parseRam(100.2)).toBe(101);
    expect(parseRam('0')).toBe(0);
  });

  it('explains what it expected', () => {
    for (const bad of ['', 'G', '8X', '-1G', '8 G B', 'eight', '1e3']) expect(() => parseRam(bad), bad).toThrow(UsageError);
    expect(() => parseRam('8X')).toThrow('invalid RAM amount "8X": expected MiB as a number, or a size such as 512M, 8G or 1.5T (units K, M, G, T)');
    expect(() => parseRam(-5)).toThrow(/expected a number of MiB >= 0/);
  });
});

describe('fits: a unit only goes to a worker that can hold it now', () => {
  it('enforces the concurrency cap', () => {
    expect(fits(offer(2, 8192), load(1, 100), need(64))).toBe(true);
    expect(fits(offer(2, 8192), load(2, 100), need(64))).toBe(false);
  });

  it('enforces free RAM (offer minus what running units reserved)', () => {
    expect(fits(offer(4, 1024), load(1, 512), need(512))).toBe(true);
    expect(fits(offer(4, 1024), load(1, 512), need(513))).toBe(false);
    expect(fits(offer(4, 1024), IDLE, need(2048))).toBe(false);
  });

  it('exclusive units only on exclusive-capable workers, and only with nothing else running', () => {
    expect(fits(offer(4, 8192, true), IDLE, need(256, true))).toBe(true);
    expect(fits(offer(4, 8192, false), IDLE, need(256, true))).toBe(false);
    expect(fits(offer(4, 8192, true), load(1, 64), need(256, true))).toBe(false); // cpu-exec to a worker that has a task
  });

  it('nothing else while an exclusive unit runs', () => {
    expect(fits(offer(4, 8192, true), load(1, 256, true), need(1))).toBe(false); // a second task during cpu-exec
    expect(freeCapacity(offer(4, 8192, true), load(1, 256, true))).toEqual({ slots: 0, ramMb: 0, exclusiveOk: false });
  });

  it('freeCapacity states what fits now in terms a store query can use', () => {
    expect(freeCapacity(offer(4, 8192, true), IDLE)).toEqual({ slots: 4, ramMb: 8192, exclusiveOk: true });
    expect(freeCapacity(offer(4, 8192, true), load(3, 6000))).toEqual({ slots: 1, ramMb: 2192, exclusiveOk: false });
    expect(freeCapacity(offer(2, 8192), load(2, 100))).toEqual({ slots: 0, ramMb: 0, exclusiveOk: false });
  });
});

describe('whyImpossible: a unit no live worker could ever hold is reported, not left queued in silence', () => {
  const workers = [offer(2, 2048), offer(4, 8192, true)];

  it('null when some live worker could hold it when idle', () => {
    expect(whyImpossible(need(8192), workers)).toBeNull();
    expect(whyImpossible(need(4096, true), workers)).toBeNull();
    expect(whyImpossible(need(1), workers)).toBeNull();
  });

  it('too much RAM (the 64 GiB job)', () => {
    expect(whyImpossible(need(65536), workers)).toBe('needs 65536 MiB of RAM; the largest live worker offers 8192 MiB');
    expect(whyImpossible(need(16384), [offer(1, 8192)])).toBe('needs 16384 MiB of RAM; the largest live worker offers 8192 MiB');
  });

  it('exclusive work with no exclusive-capable worker alive (cpu-exec waits for a cpu-capable worker)', () => {
    expect(whyImpossible(need(64, true), [offer(8, 65536)])).toBe('needs an exclusive-capable worker (sluice worker --exclusive); none is alive');
    expect(whyImpossible(need(4096, true), [offer(8, 65536), offer(1, 2048, true)])).toBe('needs 4096 MiB of RAM on an exclusive-capable worker; the largest one alive offers 2048 MiB');
  });

  it('no worker at all, or only workers without slots', () => {
    expect(whyImpossible(need(1), [])).toBe('no worker is alive (start one with: sluice worker)');
    expect(whyImpossible(need(1), [offer(0, 8192)])).toBe('no worker is alive (start one with: sluice worker)');
  });
});

describe('admit: which head units of the picked queues a worker claims', () => {
  it('claims what fits, in pick order, counting each claim against slots and RAM', () => {
    const a = admit(offer(4, 1024), IDLE, [need(256), need(256), need(256), need(256), need(256)]);
    expect(a).toEqual({ claim: [0, 1, 2, 3], drain: false, blockedBy: null });
    expect(admit(offer(4, 1024), load(1, 600), [need(256), need(256)]).claim).toEqual([0]);
  });

  it('skips units this worker could never hold: they are for other workers', () => {
    const a = admit(offer(2, 512), IDLE, [need(1024), need(64, true), need(256)]);
    expect(a).toEqual({ claim: [2], drain: false, blockedBy: null });
  });

  it('drains for a unit it could hold when idle, so it does not wait forever behind small ones', () => {
    // a big unit on a worker with its RAM half in use
    expect(admit(offer(4, 1024), load(1, 512), [need(1024), need(64)])).toEqual({ claim: [], drain: true, blockedBy: 0 });
    // an exclusive unit on a busy exclusive-capable worker
    expect(admit(offer(4, 8192, true), load(2, 128), [need(64), need(256, true), need(64)])).toEqual({ claim: [0], drain: true, blockedBy: 1 });
    // and when the worker is idle it takes the exclusive unit, and nothing after it
    expect(admit(offer(4, 8192, true), IDLE, [need(256, true), need(64)])).toEqual({ claim: [0], drain: false, blockedBy: null });
  });

  it("the sioworkersd blocking example's first round: v256 to the 512 MiB worker, v1024 to the 4 GiB one", () => {
    // workers w1 (512 MiB) and w2 (4 GiB), concurrency 2, both exclusive-capable; units v256, v1024, r256, r1024, v256, v1024
    const units = [need(256), need(1024), need(256, true), need(1024, true), need(256), need(1024)];
    const w1 = admit(offer(2, 512, true), IDLE, units);
    expect(w1.claim).toEqual([0]); // then r256 (exclusive) blocks it: w1 drains for it
    expect(w1.blockedBy).toBe(2);
    const w2 = admit(offer(2, 4096, true), IDLE, units.slice(1));
    expect(w2.claim).toEqual([0]); // v1024; then r256 blocks w2 too
    expect(w2.drain).toBe(true);
    // second round, both drained: w1 takes r256, w2 takes r1024 (r256 is gone)
    expect(admit(offer(2, 512, true), IDLE, units.slice(2)).claim).toEqual([0]);
    expect(admit(offer(2, 4096, true), IDLE, units.slice(3)).claim).toEqual([0]);
  });
});
