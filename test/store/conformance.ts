/**
 * The store contract, written against the interface: every store implementation runs this suite
 * (test/store.sqlite.test.ts; PostgreSQL follows). Each test gets a fresh, empty store.
 */
import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import type { Store, JobRecord, ClaimedUnit } from '../../src/store/index.js';

/** Claims up to n units for the worker from every queue, one owner after another (no fair-share planner here). */
export async function take(store: Store, worker: string, n: number, leaseMs = 10_000, freeRamMb = 1 << 20): Promise<ClaimedUnit[]> {
  const { queues } = await store.queueSnapshot();
  const claimed: ClaimedUnit[] = [];
  for (const q of queues.sort((a, b) => a.owner.localeCompare(b.owner) || a.class.localeCompare(b.class))) {
    if (claimed.length >= n) break;
    const pick = { pool: q.pool, owner: q.owner, class: q.class, exclusive: q.exclusive, count: n - claimed.length };
    claimed.push(...(await store.claim(worker, { picks: [pick], freeRamMb, leaseMs })));
  }
  return claimed;
}

export function storeConformance(name: string, open: () => Promise<Store>): void {
  describe(`store conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    const ping = (owner = 'alice', extra: Record<string, unknown> = {}) => ({ owner, environ: { job_type: 'ping', ping: 1 }, ...extra });
    const ok = (environ: Record<string, unknown>) => ({ ...environ, result: 'SUCCESS' as const });

    it('submits jobs queued, in a group tree made on demand', async () => {
      const [a, b] = await store.submit([ping('alice', { group: 'alice/analysis-7', name: 'first', tags: ['x'] }), ping('alice')]);
      const job = (await store.get(a!)) as JobRecord;
      expect(job).toMatchObject({ type: 'job', name: 'first', owner: 'alice', status: 'Queued', tags: ['x'], attempts: 0, job_type: 'ping' });
      expect(job.environ).toEqual({ job_type: 'ping', ping: 1 });
      expect(job.date_start).toBeNull();
      const group = await store.get(job.parent!);
      expect(group).toMatchObject({ type: 'group', name: 'analysis-7' });
      const root = await store.get(group!.parent!);
      expect(root).toMatchObject({ type: 'group', name: 'alice', parent: null });
      // The job without a group sits in the owner's root group; groups are reused, not duplicated.
      expect((await store.get(b!))!.parent).toBe(root!.id);
      await store.submit([ping('alice', { group: 'alice/analysis-7' })]);
      expect(await store.list({ type: 'group' })).toHaveLength(2);
    });

    it('refuses bad jobs with a reason and stores none of the batch', async () => {
      await expect(store.submit([ping('alice'), { owner: '', environ: { job_type: 'ping' } }])).rejects.toThrow(/owner/);
      await expect(store.submit([ping('alice', { priority: 1.5 })])).rejects.toThrow(/priority/);
      expect(await store.list()).toHaveLength(0);
    });

    it('lists by date with filters, and users with their root groups', async () => {
      const ids = await store.submit([ping('alice', { tags: ['t'] }), ping('bob'), ping('alice')]);
      expect((await store.list()).map((j) => j.id)).toEqual(ids);
      expect((await store.list({ owner: 'alice' })).map((j) => j.id)).toEqual([ids[0], ids[2]]);
      expect((await store.list({ tag: 't' })).map((j) => j.id)).toEqual([ids[0]]);
      expect(await store.list({ status: 'Running' })).toEqual([]);
      const users = await store.users();
      expect(users.map((u) => [u.owner, u.jobs])).toEqual([['alice', 2], ['bob', 1]]);
      expect(users[0]!.group).toBe((await store.get(ids[0]!))!.parent);
    });

    it("lists by job type, by text in name, tags or environ (wildcards literal), by creation time, and in pages after a node", async () => {
      const [a, b, c] = await store.submit([
        { owner: 'alice', environ: { job_type: 'ping', note: 'Needle in the environ' }, name: 'first' },
        { owner: 'alice', environ: { job_type: 'js', cmd: 'return 1' }, name: 'has a needle', tags: ['x'] },
        { owner: 'bob', environ: { job_type: 'ping' }, name: '100%_done', tags: ['needles'] },
      ]);
      const ids = async (filter: Parameters<Store['list']>[0]) => (await store.list(filter)).map((j) => j.id);
      expect(await ids({ jobType: 'ping' })).toEqual([a, c]);
      expect(await ids({ text: 'needle' })).toEqual([a, b, c]);
      expect(await ids({ text: 'NEEDLE', owner: 'alice' })).toEqual([a, b]);
      expect(await ids({ text: '%_' })).toEqual([c]);
      expect(await ids({ text: 'nothing like it' })).toEqual([]);
      const all = await store.list();
      expect(await ids({ createdAfter: all[0]!.date_created, createdBefore: all[0]!.date_created + 1 })).toEqual(all.filter((j) => j.date_created === all[0]!.date_created).map((j) => j.id));
      expect(await ids({ createdBefore: all[0]!.date_created })).toEqual([]);
      // Pages: after the first node, the rest in the same order, however they tie on the date.
      expect(await ids({ after: { date: all[0]!.date_created, id: all[0]!.id } })).toEqual([b, c]);
      expect(await ids({ after: { date: all[1]!.date_created, id: all[1]!.id }, limit: 1 })).toEqual([c]);
      expect(await ids({ after: { date: all[2]!.date_created, id: all[2]!.id } })).toEqual([]);
    });

    it('lists newest first, and its pages go on towards older nodes', async () => {
      const made = await store.submit([ping('alice', { name: 'a' }), ping('alice', { name: 'b' }), ping('bob', { name: 'c' }), ping('alice', { name: 'd' })]);
      const ids = async (filter: Parameters<Store['list']>[0]) => (await store.list({ type: 'job', ...filter })).map((j) => j.id);
      const newest = [...made].reverse();
      expect(await ids({ newestFirst: true })).toEqual(newest);
      expect(await ids({ newestFirst: true, owner: 'alice' })).toEqual(newest.filter((id) => id !== made[2]));
      const first = await store.list({ type: 'job', newestFirst: true, limit: 2 });
      const last = first.at(-1)!;
      expect(await ids({ newestFirst: true, after: { date: last.date_created, id: last.id } })).toEqual(newest.slice(2));
      expect(await ids({ newestFirst: true, after: { date: last.date_created, id: last.id }, status: 'Queued', limit: 1 })).toEqual([newest[2]]);
    });

    it('lists by tag in either order and in pages, with the other filters; a job made or pruned comes or goes with its tags', async () => {
      const made = await store.submit([
        ping('alice', { tags: ['red', 'red'] }),
        ping('bob', { tags: ['red', 'blue'] }),
        ping('alice', { tags: ['reddish'] }),
        ping('alice', { tags: ['red'], name: 'the needle' }),
        ping('alice'),
      ]);
      const ids = async (filter: Parameters<Store['list']>[0]) => (await store.list({ tag: 'red', ...filter })).map((j) => j.id);
      expect(await ids({})).toEqual([made[0], made[1], made[3]]);
      expect(await ids({ newestFirst: true })).toEqual([made[3], made[1], made[0]]);
      expect(await ids({ owner: 'alice' })).toEqual([made[0], made[3]]);
      expect(await ids({ text: 'needle' })).toEqual([made[3]]);
      expect(await ids({ tag: 'blue' })).toEqual([made[1]]);
      expect(await ids({ tag: 'nothing' })).toEqual([]);
      const [first] = await store.list({ tag: 'red', newestFirst: true, limit: 1 });
      expect(await ids({ newestFirst: true, after: { date: first!.date_created, id: first!.id }, limit: 1 })).toEqual([made[1]]);
      expect(await ids({ after: { date: first!.date_created, id: first!.id } })).toEqual([]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 9, ram_mb: 4096, exclusive: false });
      const units = await take(store, w, 5);
      await store.complete(units.map((u) => ({ unit: u.unit, token: u.token, output: ok({ job_type: 'ping' }) })));
      expect(await ids({ status: 'Success', owner: 'bob' })).toEqual([made[1]]);
      await store.prune({ olderThanMs: 0 });
      expect(await ids({})).toEqual([]);
      const [later] = await store.submit([ping('carol', { tags: ['red'] })]);
      expect(await ids({})).toEqual([later]);
    });

    it('counts jobs started and ended per class and time slot, for the throughput chart', async () => {
      const t0 = Date.now();
      const [a, b, c] = await store.submit([ping('alice'), ping('alice', { class: 'urgent' }), ping('bob', { class: 'urgent' })]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 4, ram_mb: 4096, exclusive: false });
      const units = await take(store, w, 3);
      const unitOf = async (id: string) => units.find((u) => u.job === id)!;
      await store.complete([{ unit: (await unitOf(a!)).unit, token: (await unitOf(a!)).token, output: ok({ job_type: 'ping' }) }]);
      await store.complete([{ unit: (await unitOf(b!)).unit, token: (await unitOf(b!)).token, output: ok({ job_type: 'ping' }) }]);
      // c is still running; a queued job has not started.
      await store.submit([ping('carol')]);
      const t1 = Date.now() + 1;
      const sum = (rows: Array<{ class: string; n: number }>) => Object.fromEntries(['normal', 'urgent'].map((k) => [k, rows.filter((r) => r.class === k).reduce((x, r) => x + r.n, 0)]));
      const counts = await store.jobCounts(t0, t1, 10_000);
      expect(sum(counts.started)).toEqual({ normal: 1, urgent: 2 });
      expect(sum(counts.finished)).toEqual({ normal: 1, urgent: 1 });
      const started = (await store.get(c!))!.date_start!;
      expect(counts.started).toContainEqual({ class: 'urgent', slot: Math.floor(started / 10_000), n: expect.any(Number) });
      for (const r of [...counts.started, ...counts.finished]) expect(Number.isInteger(r.slot) && r.slot >= Math.floor(t0 / 10_000) && r.slot <= Math.floor(t1 / 10_000)).toBe(true);
      // The window's ends: nothing before it, nothing from its end on.
      expect(await store.jobCounts(t1, t1 + 60_000, 10_000)).toEqual({ started: [], finished: [] });
      expect(await store.jobCounts(t0 - 60_000, t0, 10_000)).toEqual({ started: [], finished: [] });
    });

    it("a node's own events, a job's account, each user's hidden nodes, and what each worker runs", async () => {
      const [a, b] = await store.submit([ping('alice', { account: 'contest:7' }), ping('alice')]);
      await store.abort(a!);
      expect((await store.eventsOf(a!)).map((e) => [e.verb, e.verb === 'prune' ? null : e.info.status])).toEqual([['add', 'Queued'], ['update', 'Aborted']]);
      expect(await store.eventsOf(a!, 1)).toHaveLength(1);
      expect(await store.eventsOf('no-such-node')).toEqual([]);
      expect(((await store.get(a!)) as JobRecord).account).toBe('contest:7');
      expect(((await store.get(b!)) as JobRecord).account).toBeUndefined();
      await store.hide('alice', [a!, b!]);
      await store.hide('alice', [a!]);
      await store.hide('bob', [b!]);
      expect((await store.hidden('alice')).sort()).toEqual([a!, b!].sort());
      expect(await store.hidden('bob')).toEqual([b]);
      expect(await store.hidden('carol')).toEqual([]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 2, ram_mb: 4096, exclusive: false });
      await store.submit([ping('alice', { ramMb: 300 }), ping('alice', { ramMb: 200 })]);
      expect(await take(store, w, 3)).toHaveLength(3);
      expect(await store.workerLoads()).toEqual([{ worker: w, running: 3, ramMb: 500 }]);
      // Pruning takes hidden marks with their nodes.
      await store.prune({ olderThanMs: 0 });
      expect(await store.hidden('alice')).toEqual([b]);
    });

    it('claims by priority, then age, each unit once', async () => {
      const [low, high, low2] = await store.submit([ping('a'), ping('a', { priority: 5 }), ping('a')]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 4, ram_mb: 4096, exclusive: false });
      const claimed = await take(store, w, 2, 10_000);
      expect(claimed.map((c) => c.job)).toEqual([high, low]);
      expect(claimed[0]!.environ).toEqual({ job_type: 'ping', ping: 1 });
      expect((await take(store, w, 5, 10_000)).map((c) => c.job)).toEqual([low2]);
      expect(await take(store, w, 5, 10_000)).toEqual([]);
      expect(await store.get(high!)).toMatchObject({ status: 'Running', attempts: 1 });
      expect((await store.get(high!))!.date_start).toBeGreaterThan(0);
    });

    it('records results: SUCCESS is Success with the job value, FAILURE is Failed with the traceback', async () => {
      const [a, b] = await store.submit([ping(), ping()]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 2, ram_mb: 4096, exclusive: false });
      const [ua, ub] = await take(store, w, 2, 10_000);
      const recorded = await store.complete([
        { unit: ua!.unit, token: ua!.token, output: ok({ job_type: 'ping', ping: 1, pong: 1, worker: 'h' }), result: { pong: 1 } },
        { unit: ub!.unit, token: ub!.token, output: { job_type: 'ping', result: 'FAILURE', exception: 'Error: boom', traceback: 'Error: boom\n  at x' } },
      ]);
      expect(recorded).toEqual([true, true]);
      const ja = (await store.get(a!)) as JobRecord;
      expect(ja).toMatchObject({ status: 'Success', result: { pong: 1 } });
      expect(ja.output).toMatchObject({ pong: 1, result: 'SUCCESS' });
      expect(ja.date_end).toBeGreaterThanOrEqual(ja.date_start!);
      expect(await store.get(b!)).toMatchObject({ status: 'Failed', result: 'Error: boom\n  at x', error: 'Error: boom' });
    });

    it('a stale token changes nothing (a worker whose lease was taken away)', async () => {
      const [id] = await store.submit([ping('a')]);
      const w1 = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 4096, exclusive: false });
      const w2 = await store.registerWorker({ host: 'h', pid: 2, concurrency: 1, ram_mb: 4096, exclusive: false });
      const [first] = await take(store, w1, 1, 1);
      await new Promise((r) => setTimeout(r, 10));
      expect(await store.reapExpired()).toBe(1);
      // A lost run is given back: it counts as lost, not as an attempt.
      expect(await store.get(id!)).toMatchObject({ status: 'Queued', attempts: 0, lost: 1 });
      const [second] = await take(store, w2, 1, 10_000);
      expect(second!.attempt).toBe(1);
      expect(await store.complete([{ unit: first!.unit, token: first!.token, output: ok({ stale: true }) }])).toEqual([false]);
      expect(await store.complete([{ unit: second!.unit, token: second!.token, output: ok({ fresh: true }), result: { fresh: true } }])).toEqual([true]);
      expect(await store.get(id!)).toMatchObject({ status: 'Success', result: { fresh: true }, attempts: 1, lost: 1 });
      // The first worker's heartbeat says it holds nothing any more.
      expect((await store.heartbeat(w1, 10_000, [first!.unit])).held).toEqual([]);
    });

    it('lost workers re-queue a unit against their own limit, not its attempts; past that limit the job fails saying why', async () => {
      const [id] = await store.submit([ping('a', { maxLost: 3 })]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 4096, exclusive: false });
      for (let lost = 1; lost <= 2; lost++) {
        await take(store, w, 1, 1);
        await new Promise((r) => setTimeout(r, 10));
        await store.reapExpired();
        expect(await store.get(id!)).toMatchObject({ status: 'Queued', attempts: 0, lost, max_attempts: 1 });
      }
      await take(store, w, 1, 1);
      await new Promise((r) => setTimeout(r, 10));
      await store.reapExpired();
      const job = await store.get(id!);
      expect(job).toMatchObject({ status: 'Failed', lost: 3 });
      expect(job!.error).toMatch(/workers running this unit stopped answering 3 times.*in case the job itself kills its workers/);
      expect(await take(store, w, 1, 10_000)).toEqual([]);
    });

    it("a job's record is fixed once it ends: a result that arrives after an abort changes nothing", async () => {
      const [id] = await store.submit([ping()]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 4096, exclusive: false });
      const [u] = await take(store, w, 1, 10_000);
      const aborted = await store.abort(id!);
      const seq = await store.lastSeq();
      // The worker had not seen the abort yet: it reports success.
      await store.complete([{ unit: u!.unit, token: u!.token, output: ok({ pong: 'late' }), result: { pong: 'late' } }]);
      await store.report(u!.unit, u!.token, { kind: 'status', text: 'late' });
      const after = (await store.get(id!)) as JobRecord;
      expect(after).toEqual(aborted);
      expect(after).toMatchObject({ status: 'Aborted', result: null, output: null, status_text: null });
      // No second terminal update reaches watchers.
      expect((await store.eventsAfter(seq)).filter((e) => e.verb !== 'prune' && e.id === id && e.info.status !== 'Aborted')).toEqual([]);
    });

    it('a group belongs to its owner: another owner cannot submit into it', async () => {
      await store.submit([ping('alice', { group: 'alice/analysis-7' })]);
      await expect(store.submit([ping('mallory', { group: 'alice/analysis-7' })])).rejects.toThrow(/group "alice" belongs to alice; mallory cannot submit into it/);
      await expect(store.submit([ping('mallory', { group: 'alice' })])).rejects.toThrow(/belongs to alice/);
      expect((await store.list()).map((j) => j.owner)).toEqual(['alice']);
    });

    it("finds groups by path and lists a group's children, or everything below it", async () => {
      const [a, b, c] = await store.submit([
        ping('alice', { group: 'alice/analysis-7' }),
        ping('alice', { group: 'alice/analysis-7/run-2' }),
        ping('alice'),
      ]);
      const g7 = await store.group('alice/analysis-7');
      expect(g7).toMatchObject({ type: 'group', name: 'analysis-7', owner: 'alice' });
      expect(await store.group('alice/nothing')).toBeNull();
      const run2 = await store.group('alice/analysis-7/run-2');
      const children = await store.list({ parent: g7!.id, type: 'any' });
      expect(children.map((n) => n.id).sort()).toEqual([a, run2!.id].sort());
      const below = await store.list({ under: g7!.id, type: 'any' });
      expect(below.map((n) => n.id).sort()).toEqual([a, b, run2!.id].sort());
      expect((await store.list({ under: (await store.group('alice'))!.id })).map((n) => n.id).sort()).toEqual([a, b, c].sort());
    });

    it('refuses an environ over the size limit, naming the limit and the file store', async () => {
      const big = 'x'.repeat(5 << 20);
      await expect(store.submit([{ owner: 'a', environ: { job_type: 'ping', big } }])).rejects.toThrow(/environ is 5\.0 MiB of JSON, more than the 4\.0 MiB allowed \(SLUICE_MAX_ENVIRON\); put large data in the file store/);
      await expect(store.submit([{ owner: 'a', environ: { job_type: 'ping' }, inputs: [1, big] }])).rejects.toThrow(/SLUICE_MAX_ENVIRON/);
      expect(await store.list()).toEqual([]);
    });

    it('heartbeats extend leases, so a live worker keeps its unit', async () => {
      await store.submit([ping()]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 4096, exclusive: false });
      const [u] = await take(store, w, 1, 30);
      const beat = await store.heartbeat(w, 10_000, [u!.unit]);
      expect(beat.held).toEqual([u!.unit]);
      await new Promise((r) => setTimeout(r, 50));
      expect(await store.reapExpired()).toBe(0);
      expect((await store.liveWorkers(10_000)).map((x) => x.id)).toEqual([w]);
      await store.unregisterWorker(w);
      expect(await store.liveWorkers(10_000)).toEqual([]);
    });

    it('a heartbeat extends only the units its worker says it runs: a claimed unit it lost track of lapses and runs again', async () => {
      const [a, b] = await store.submit([ping(), ping()]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 2, ram_mb: 4096, exclusive: false });
      const [ua, ub] = await take(store, w, 2, 30);
      expect((await store.heartbeat(w, 10_000, [ua!.unit])).held).toEqual([ua!.unit]);
      await new Promise((r) => setTimeout(r, 50));
      expect(await store.reapExpired()).toBe(1);
      expect(await store.get(ub!.job)).toMatchObject({ status: 'Queued', lost: 1 });
      expect(await store.get(ua!.job)).toMatchObject({ status: 'Running' });
      expect([a, b].sort()).toEqual([ua!.job, ub!.job].sort());
    });

    it('abort: a queued job never runs; a running one is flagged for its worker and stays Aborted', async () => {
      const [queued, running] = await store.submit([ping('a', { priority: 0 }), ping('a', { priority: 9 })]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 4096, exclusive: false });
      const [u] = await take(store, w, 1, 10_000);
      expect(u!.job).toBe(running);
      expect((await store.abort(queued!)).status).toBe('Aborted');
      expect(await take(store, w, 1, 10_000)).toEqual([]);
      expect((await store.abort(running!)).status).toBe('Aborted');
      expect(await store.abortRequests(w)).toEqual([u!.unit]);
      expect((await store.heartbeat(w, 10_000, [u!.unit])).abort).toEqual([u!.unit]);
      await store.complete([{ unit: u!.unit, token: u!.token, output: ok({}), aborted: true }]);
      expect(await store.get(running!)).toMatchObject({ status: 'Aborted' });
      // Aborting an ended job changes nothing; unknown ids are a clear error.
      expect((await store.abort(running!)).status).toBe('Aborted');
      await expect(store.abort('no-such-id')).rejects.toThrow(/no job with id no-such-id/);
    });

    it('release gives a unit back without charging an attempt', async () => {
      const [id] = await store.submit([ping()]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 4096, exclusive: false });
      const [u] = await take(store, w, 1, 10_000);
      await store.release([{ unit: u!.unit, token: u!.token }]);
      expect(await store.get(id!)).toMatchObject({ status: 'Queued', attempts: 0 });
      const [again] = await take(store, w, 1, 10_000);
      expect(again!.attempt).toBe(1);
    });

    it('claimJob takes only that job', async () => {
      const [, b] = await store.submit([ping(), ping()]);
      const claimed = await store.claimJob('inline', b!, 5, 10_000);
      expect(claimed.map((c) => c.job)).toEqual([b]);
      expect(await store.claimJob('inline', b!, 5, 10_000)).toEqual([]);
    });

    it('progress and status reports update the job and become events', async () => {
      const [id] = await store.submit([ping()]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 4096, exclusive: false });
      const [u] = await take(store, w, 1, 10_000);
      await store.report(u!.unit, u!.token, { kind: 'progress', done: 3, total: 10, message: 'warming up' });
      await store.report(u!.unit, u!.token, { kind: 'status', text: 'halfway' });
      await store.report(u!.unit, u!.token + 100, { kind: 'status', text: 'from a stale worker' });
      expect(await store.get(id!)).toMatchObject({ progress: { done: 3, total: 10, message: 'warming up' }, status_text: 'halfway' });
      const events = await store.eventsAfter(0);
      expect(events.flatMap((e) => (e.verb !== 'prune' && e.id === id ? [[e.verb, e.info.status, e.info.status_text]] : []))).toEqual([
        ['add', 'Queued', null],
        ['update', 'Running', null],
        ['update', 'Running', null],
        ['update', 'Running', 'halfway'],
      ]);
    });

    it('every change appends an event with a growing sequence number', async () => {
      const before = await store.lastSeq();
      const [id] = await store.submit([ping()]);
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 4096, exclusive: false });
      const [u] = await take(store, w, 1, 10_000);
      await store.complete([{ unit: u!.unit, token: u!.token, output: ok({ pong: 1 }) }]);
      const events = await store.eventsAfter(before);
      const seqs = events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(seqs.length);
      const mine = events.flatMap((e) => (e.verb !== 'prune' && e.id === id ? [e.info.status] : []));
      expect(mine).toEqual(['Queued', 'Running', 'Success']);
      expect(await store.lastSeq()).toBe(seqs.at(-1));
      expect(await store.eventsAfter(seqs.at(-1)!)).toEqual([]);
      expect((await store.eventsAfter(before, 2)).length).toBe(2);
    });

    const worker = (ram = 4096, exclusive = false) => store.registerWorker({ host: 'h', pid: 1, concurrency: 8, ram_mb: ram, exclusive });
    const success = (u: ClaimedUnit, result: unknown, charge?: number) => ({ unit: u.unit, token: u.token, output: ok({ ...u.environ }), result, ...(charge ? { charge } : {}) });
    const failure = (u: ClaimedUnit) => ({ unit: u.unit, token: u.token, output: { ...u.environ, result: 'FAILURE' as const, exception: 'Error: no', traceback: 'Error: no\n  at t' } });

    it('map jobs: one unit per input, progress k of n, results in input order', async () => {
      const [id] = await store.submit([{ owner: 'a', environ: { job_type: 'js', cmd: 'x' }, inputs: [10, { n: 20 }, 'thirty'] }]);
      expect((await store.units(id!)).map((u) => [u.idx, u.state, u.input])).toEqual([[0, 'queued', 10], [1, 'queued', { n: 20 }], [2, 'queued', 'thirty']]);
      const w = await worker();
      const units = await take(store, w, 3);
      expect(units.map((u) => u.environ.input)).toEqual([10, { n: 20 }, 'thirty']);
      expect(units.every((u) => u.environ.cmd === 'x')).toBe(true);
      await store.complete([success(units[1]!, 'B')]);
      expect(await store.get(id!)).toMatchObject({ status: 'Running', progress: { done: 1, total: 3 } });
      await store.complete([success(units[0]!, 'A'), success(units[2]!, 'C')]);
      expect(await store.get(id!)).toMatchObject({ status: 'Success', progress: { done: 3, total: 3 }, result: ['A', 'B', 'C'] });
      expect((await store.units(id!)).map((u) => [u.state, u.result])).toEqual([['done', 'A'], ['done', 'B'], ['done', 'C']]);
    });

    it('a map job with a failed unit ends Failed; with failFast the other units stop at once', async () => {
      const [plain, fast] = await store.submit([
        { owner: 'a', environ: { job_type: 'js' }, inputs: [1, 2] },
        { owner: 'b', environ: { job_type: 'js' }, inputs: [1, 2, 3], failFast: true },
      ]);
      const w = await worker();
      const [p1, p2] = await take(store, w, 2);
      await store.complete([failure(p1!)]);
      expect(await store.get(plain!)).toMatchObject({ status: 'Running' });
      await store.complete([success(p2!, 'fine')]);
      // A failed unit's place in the result list is null; its error names it; each unit's outcome is kept.
      expect(await store.get(plain!)).toMatchObject({
        status: 'Failed',
        error: 'unit 0: Error: no',
        result: [null, 'fine'],
        units: [{ index: 0, status: 'Failed', error: 'Error: no' }, { index: 1, status: 'Success', result: 'fine' }],
      });
      const [f1] = await take(store, w, 1);
      expect(f1!.job).toBe(fast);
      await store.complete([failure(f1!)]);
      const job = await store.get(fast!);
      expect(job).toMatchObject({
        status: 'Failed',
        result: [null, null, null],
        units: [{ index: 0, status: 'Failed' }, { index: 1, status: 'Aborted' }, { index: 2, status: 'Aborted' }],
      });
      expect(job!.date_end).not.toBeNull();
      expect((await store.units(fast!)).map((u) => u.state)).toEqual(['failed', 'aborted', 'aborted']);
      expect(await take(store, w, 5)).toEqual([]);
    });

    it('retries: a failed unit waits for its backoff, runs again, and fails the job only when retries run out', async () => {
      const [id] = await store.submit([{ owner: 'a', environ: { job_type: 'js' }, retries: 1 }]);
      const w = await worker();
      const [first] = await take(store, w, 1);
      await store.complete([failure(first!)]);
      const waiting = await store.get(id!);
      expect(waiting).toMatchObject({ status: 'Queued' });
      expect(waiting!.error).toMatch(/Error: no \(retrying at /);
      expect((await store.units(id!))[0]).toMatchObject({ state: 'delayed' });
      expect(await take(store, w, 1)).toEqual([]);
      await new Promise((r) => setTimeout(r, 1100));
      const [second] = await take(store, w, 1);
      expect(second!.attempt).toBe(2);
      await store.complete([failure(second!)]);
      expect(await store.get(id!)).toMatchObject({ status: 'Failed', attempts: 2 });
    });

    it('delayed start: a job is not claimed before its start time', async () => {
      const [id] = await store.submit([{ owner: 'a', environ: { job_type: 'ping' }, runAfter: Date.now() + 300 }]);
      const w = await worker();
      expect(await take(store, w, 1)).toEqual([]);
      expect((await store.units(id!))[0]!.state).toBe('delayed');
      await new Promise((r) => setTimeout(r, 350));
      expect((await take(store, w, 1)).map((u) => u.job)).toEqual([id]);
    });

    it('the queue snapshot counts runnable units per queue, running units and charged usage per owner', async () => {
      await store.submit([
        { owner: 'alice', environ: { job_type: 'ping' } },
        { owner: 'alice', environ: { job_type: 'ping' } },
        { owner: 'bob', environ: { job_type: 'ping' }, class: 'urgent' },
      ]);
      const before = await store.queueSnapshot();
      expect(before.queues.map((q) => [q.owner, q.class, q.exclusive, q.queued]).sort()).toEqual([['alice', 'normal', false, 2], ['bob', 'urgent', false, 1]]);
      const w = await worker();
      const [u] = await store.claim(w, { picks: [{ pool: 'default', owner: 'alice', class: 'normal', exclusive: false, count: 1 }], freeRamMb: 4096, leaseMs: 10_000 });
      const during = await store.queueSnapshot();
      expect(during.queues.find((q) => q.owner === 'alice')).toMatchObject({ queued: 1 });
      expect(during.owners.find((o) => o.owner === 'alice')).toMatchObject({ running: 1, usage: 0, share: 1 });
      await store.complete([success(u!, null, 5)]);
      const after = await store.queueSnapshot();
      expect(after.owners.find((o) => o.owner === 'alice')).toMatchObject({ running: 0, usage: 5 });
      await store.setShare('alice', 2);
      expect((await store.queueSnapshot()).owners.find((o) => o.owner === 'alice')).toMatchObject({ share: 2, rank: 0 });
      await expect(store.setShare('alice', 0)).rejects.toThrow(/share must be a number above 0/);
      // A rank is set with a share, and kept by a later share without one.
      await store.setShare('alice', 3, 10);
      await store.setShare('alice', 4);
      expect((await store.queueSnapshot()).owners.find((o) => o.owner === 'alice')).toMatchObject({ share: 4, rank: 10 });
      await store.setShare('alice', 4, -2);
      expect((await store.queueSnapshot()).owners.find((o) => o.owner === 'alice')).toMatchObject({ rank: -2 });
      await expect(store.setShare('alice', 1, 1.5)).rejects.toThrow(/rank must be a whole number/);
    });

    it('a job submitted while its dependency ends is released, whichever commits first (30 races)', async () => {
      const w = await worker();
      for (let i = 0; i < 30; i++) {
        const [dep] = await store.submit([ping('alice')]);
        const [u] = await store.claim(w, { picks: [{ pool: 'default', owner: 'alice', class: 'normal', exclusive: false, count: 1 }], freeRamMb: 4096, leaseMs: 10_000 });
        expect(u!.job).toBe(dep);
        const [, [next]] = await Promise.all([store.complete([success(u!, null)]), store.submit([ping('alice', { after: [dep], afterAny: true })])]);
        expect((await store.get(next!))!.status).toBe('Queued');
        const [again] = await store.claim(w, { picks: [{ pool: 'default', owner: 'alice', class: 'normal', exclusive: false, count: 1 }], freeRamMb: 4096, leaseMs: 10_000 });
        await store.complete([success(again!, null)]);
      }
    });

    it("fair share is keyed by the job's account: its units queue, run and are charged there; the run is still its owner's", async () => {
      const [a, m] = await store.submit([ping('alice', { account: 'contest:7' }), { ...ping('bob', { account: 'contest:7' }), inputs: [1, 2] }, ping('alice')]);
      const before = await store.queueSnapshot();
      expect(before.queues.map((q) => [q.owner, q.queued]).sort()).toEqual([['alice', 1], ['contest:7', 3]]);
      const w = await worker();
      const claimed = await store.claim(w, { picks: [{ pool: 'default', owner: 'contest:7', class: 'normal', exclusive: false, count: 3 }], freeRamMb: 4096, leaseMs: 10_000 });
      expect(claimed.map((u) => [u.job, u.owner, u.account]).sort()).toEqual([[a, 'alice', 'contest:7'], [m, 'bob', 'contest:7'], [m, 'bob', 'contest:7']].sort());
      expect((await store.queueSnapshot()).owners.find((o) => o.owner === 'contest:7')).toMatchObject({ running: 3 });
      await store.complete(claimed.map((u) => success(u, null, 2)));
      // The snapshot lists accounts with work: one more unit under the account shows its usage.
      await store.submit([ping('bob', { account: 'contest:7' })]);
      const after = await store.queueSnapshot();
      expect(after.owners.find((o) => o.owner === 'contest:7')).toMatchObject({ running: 0, usage: 6 });
      expect(after.owners.find((o) => o.owner === 'alice')).toMatchObject({ usage: 0 });
    });

    it("placement: a unit that needs more RAM than is free is skipped; a batch is trimmed to the worker's RAM", async () => {
      const [big, mid1, mid2] = await store.submit([
        { owner: 'a', environ: { job_type: 'ping' }, ramMb: 8000 },
        { owner: 'a', environ: { job_type: 'ping' }, ramMb: 3000 },
        { owner: 'a', environ: { job_type: 'ping' }, ramMb: 3000 },
      ]);
      const w = await worker();
      const claimed = await store.claim(w, { picks: [{ pool: 'default', owner: 'a', class: 'normal', exclusive: false, count: 3 }], freeRamMb: 4000, leaseMs: 10_000 });
      expect(claimed.map((u) => [u.job, u.ramMb])).toEqual([[mid1, 3000]]);
      expect((await store.get(mid2!))!.status).toBe('Queued');
      expect((await store.get(big!))!.status).toBe('Queued');
      expect((await store.queueSnapshot()).queues[0]).toMatchObject({ queued: 2 });
    });

    it('exclusive units form their own queue', async () => {
      await store.submit([{ owner: 'a', environ: { job_type: 'cpu-exec' }, exclusive: true }, { owner: 'a', environ: { job_type: 'ping' } }]);
      const { queues } = await store.queueSnapshot();
      expect(queues.map((q) => q.exclusive).sort()).toEqual([false, true]);
      const w = await worker(4096, true);
      const [u] = await store.claim(w, { picks: [{ pool: 'default', owner: 'a', class: 'normal', exclusive: true, count: 5 }], freeRamMb: 4096, leaseMs: 10_000 });
      expect(u).toMatchObject({ exclusive: true });
    });

    it('housekeeping notes on queued jobs that no live worker could hold, and why', async () => {
      const [big, excl] = await store.submit([
        { owner: 'a', environ: { job_type: 'ping' }, ramMb: 16384 },
        { owner: 'a', environ: { job_type: 'cpu-exec' }, exclusive: true },
      ]);
      await worker(8192, false);
      await store.reapExpired();
      expect((await store.get(big!))!.error).toBe('cannot run yet: needs 16384 MiB of RAM; the largest live worker offers 8192 MiB');
      expect((await store.get(excl!))!.error).toMatch(/needs an exclusive-capable worker/);
      expect((await store.get(big!))!.status).toBe('Queued');
    });

    it("learns each owner's typical unit length from finished units, for the provisional charge", async () => {
      await store.submit([ping('alice'), ping('alice'), ping('alice')]);
      const w = await worker();
      const owner = async () => (await store.queueSnapshot()).owners.find((o) => o.owner === 'alice')!;
      expect((await owner()).unit_seconds).toBeNull();
      const [u1, u2] = await take(store, w, 2);
      await store.complete([{ ...success(u1!, null, 0.3), seconds: 0.3 }]);
      expect((await owner()).unit_seconds).toBeCloseTo(0.3);
      await store.complete([{ ...success(u2!, null, 1.3), seconds: 1.3 }]);
      expect((await owner()).unit_seconds).toBeCloseTo(0.3 * 0.8 + 1.3 * 0.2);
      expect((await owner()).usage).toBeCloseTo(1.6, 3);
    });

    it('a change mark taken before a read is passed by a write made after it, in this process too', async () => {
      const mark = store.changeMark();
      const woke = store.waitForChange(10_000, undefined, mark);
      const started = Date.now();
      await store.submit([ping()]);
      await woke;
      expect(Date.now() - started).toBeLessThan(5000);
      // A mark taken after the change waits for the next one (here: the timeout).
      const later = store.changeMark();
      const t = Date.now();
      await store.waitForChange(150, undefined, later);
      expect(Date.now() - t).toBeGreaterThanOrEqual(100);
    });

    it('control messages: kept in order per job, taken once by each running unit (fenced), refused for an ended job', async () => {
      const [id] = await store.submit([{ owner: 'a', environ: { job_type: 'js' }, inputs: [1, 2] }]);
      expect(await store.control(id!, { n: 1 })).toEqual({ seq: 1 });
      expect(await store.control(id!, 'two')).toEqual({ seq: 2 });
      const w = await worker();
      const [u1, u2] = await take(store, w, 2);
      const both = [{ unit: u1!.unit, token: u1!.token }, { unit: u2!.unit, token: u2!.token }];
      const first = await store.takeMessages(w, both);
      expect(first.filter((m) => m.unit === u1!.unit).map((m) => m.body)).toEqual([{ n: 1 }, 'two']);
      expect(first.filter((m) => m.unit === u2!.unit).map((m) => [m.seq, m.body])).toEqual([[1, { n: 1 }], [2, 'two']]);
      expect(await store.takeMessages(w, both)).toEqual([]);
      await store.control(id!, [3]);
      // A stale token takes nothing.
      expect(await store.takeMessages(w, [{ unit: u1!.unit, token: u1!.token + 1 }])).toEqual([]);
      expect((await store.takeMessages(w, both)).map((m) => [m.unit, m.body])).toEqual([[u1!.unit, [3]], [u2!.unit, [3]]]);
      await store.complete([success(u1!, 1), success(u2!, 2)]);
      await expect(store.control(id!, 'late')).rejects.toThrow(`job ${id} has ended (Success); a control message needs a job that is queued or running`);
      await expect(store.control('nope', 1)).rejects.toThrow(/no job with id nope/);
    });

    it('the outbox: a callback waits for its job to end, is taken with a lease, retried, and its state shows beside the record', async () => {
      const [id, plain] = await store.submit([{ owner: 'a', environ: { job_type: 'ping' }, callbackUrl: 'http://127.0.0.1:9/hook' }, ping()]);
      expect((await store.get(id!)) as JobRecord).toMatchObject({ delivery: { url: 'http://127.0.0.1:9/hook', state: 'waiting', attempts: 0 } });
      expect('delivery' in ((await store.get(plain!)) as JobRecord)).toBe(false);
      expect(await store.claimOutbox('callback', 10, 10_000)).toEqual([]);
      const w = await worker();
      const [u] = await take(store, w, 1);
      const before = (await store.get(id!)) as JobRecord;
      await store.complete([success(u!, { pong: 1 })]);
      const [item] = await store.claimOutbox('callback', 10, 10_000);
      expect(item).toMatchObject({ job: id, target: 'http://127.0.0.1:9/hook', attempts: 1 });
      // Taken: another sender does not get it while the lease lasts.
      expect(await store.claimOutbox('callback', 10, 10_000)).toEqual([]);
      await store.finishOutbox(item!.id, { ok: false, error: 'connection refused', retryAt: Date.now() - 1 });
      const [again] = await store.claimOutbox('callback', 10, 10_000);
      expect(again).toMatchObject({ id: item!.id, attempts: 2 });
      await store.finishOutbox(again!.id, { ok: true });
      const after = (await store.get(id!)) as JobRecord;
      expect(after.delivery).toMatchObject({ state: 'done', attempts: 2, last_error: 'connection refused' });
      expect(after.delivery!.done_at).toBeGreaterThan(0);
      // The record itself did not change.
      const { delivery: _a, ...fixed } = after;
      expect(fixed).toMatchObject({ status: 'Success', date_end: expect.any(Number) });
      expect(before.status).toBe('Running');
    });

    it('digest notices: due by the digest hour from when the job ended, marked with the digest they went in, postponed untaken', async () => {
      const [id] = await store.submit([{ owner: 'u', environ: { job_type: 'ping' }, notify: { address: 'a@example.org' } }]);
      const w = await worker();
      const [u] = await take(store, w, 1);
      await store.complete([success(u!, {})]);
      const ended = ((await store.get(id!)) as JobRecord).date_end!;
      expect(((await store.get(id!)) as JobRecord).notify).toMatchObject({ address: 'a@example.org', mode: 'digest', on: 'always', state: 'due' });
      expect(await store.claimOutbox('digest', 10, 10_000, ended - 1)).toEqual([]);
      expect(await store.claimOutbox('mail', 10, 10_000, ended + 1)).toEqual([]);
      const [item] = await store.claimOutbox('digest', 10, 10_000, ended + 1000);
      expect(item).toMatchObject({ job: id, target: 'a@example.org', attempts: 1, only_failures: false });
      // Postponed: not due by the same hour, due by a later one, and the try did not count.
      await store.postponeOutbox(item!.id, ended + 2000);
      expect(await store.claimOutbox('digest', 10, 10_000, ended + 1000)).toEqual([]);
      const [again] = await store.claimOutbox('digest', 10, 10_000, ended + 2000);
      expect(again).toMatchObject({ id: item!.id, attempts: 1 });
      expect(await store.digestSent('a@example.org', ended + 2000)).toBe(false);
      await store.finishOutbox(again!.id, { ok: true, digestOf: ended + 2000 });
      expect(await store.digestSent('a@example.org', ended + 2000)).toBe(true);
      expect(await store.digestSent('a@example.org', ended + 1000)).toBe(false);
      expect(await store.digestSent('b@example.org', ended + 2000)).toBe(false);
      expect(((await store.get(id!)) as JobRecord).notify).toMatchObject({ state: 'done', attempts: 1 });
    });

    it('users: created with a hashed token, found by it, changed, listed and removed', async () => {
      await store.createUser({ name: 'alice', role: 'user', tokenHash: 'h1', email: 'alice@example.org' });
      await store.createUser({ name: 'root', role: 'admin', tokenHash: 'h2' });
      await expect(store.createUser({ name: 'alice', role: 'user', tokenHash: 'h3' })).rejects.toThrow(/user alice exists already/);
      await expect(store.createUser({ name: 'x', role: 'god' as 'admin', tokenHash: 'h4' })).rejects.toThrow(/a role is one of admin, trusted, user, viewer/);
      expect(await store.userByTokenHash('h1')).toMatchObject({ name: 'alice', role: 'user', email: 'alice@example.org', accounts: [] });
      expect(await store.userByTokenHash('nope')).toBeNull();
      expect(await store.updateUser('alice', { role: 'trusted', accounts: ['contest:7'], tokenHash: 'h5' })).toMatchObject({ role: 'trusted', accounts: ['contest:7'] });
      expect(await store.userByTokenHash('h1')).toBeNull();
      expect((await store.userByTokenHash('h5'))!.name).toBe('alice');
      expect((await store.listUsers()).map((u) => [u.name, u.role])).toEqual([['alice', 'trusted'], ['root', 'admin']]);
      await store.deleteUser('alice');
      expect(await store.getUser('alice')).toBeNull();
      await expect(store.deleteUser('alice')).rejects.toThrow(/no user alice/);
      await expect(store.updateUser('ghost', { role: 'user' })).rejects.toThrow(/no user ghost/);
    });

    it('jobs that wait for jobs: Waiting until they end, then queued with what they waited for in environ.after', async () => {
      const [x, y] = await store.submit([ping('a'), { owner: 'a', environ: { job_type: 'js' }, inputs: [1, 2] }]);
      const [z] = await store.submit([{ owner: 'a', environ: { job_type: 'sum' }, after: [x!, y!, x!] }]);
      expect(await store.get(z!)).toMatchObject({ status: 'Waiting' });
      expect((await store.units(z!)).map((u) => u.state)).toEqual(['waiting']);
      expect((await store.queueSnapshot()).queues.reduce((n, q) => n + q.queued, 0)).toBe(3);
      const w = await worker();
      const units = await take(store, w, 3);
      expect(units.map((u) => u.job).sort()).toEqual([x, y, y].sort());
      await store.complete(units.filter((u) => u.job !== y).map((u) => ({ ...success(u, { pong: 1 }), output: ok({ pong: 1 }) })));
      expect(await store.get(z!)).toMatchObject({ status: 'Waiting' });
      await store.complete(units.filter((u) => u.job === y).map((u) => success(u, (u.environ.input as number) * 10)));
      const released = (await store.get(z!)) as JobRecord;
      expect(released.status).toBe('Queued');
      expect(released.environ.after).toEqual({
        [x!]: { status: 'Success', result: { pong: 1 }, output: expect.objectContaining({ pong: 1, result: 'SUCCESS' }) },
        [y!]: { status: 'Success', result: [10, 20], output: null },
      });
      const [zu] = await take(store, w, 5);
      expect(zu).toMatchObject({ job: z, environ: { after: released.environ.after } });
    });

    it('a job waiting for one that failed or was aborted ends too, naming it, down the chain; afterAny runs whatever they ended with', async () => {
      const [x, y] = await store.submit([ping('a'), ping('a')]);
      const [failsWith, any] = await store.submit([
        { owner: 'a', environ: { job_type: 'ping' }, after: [x!] },
        { owner: 'a', environ: { job_type: 'ping' }, after: [x!, y!], afterAny: true },
      ]);
      const [chained] = await store.submit([{ owner: 'a', environ: { job_type: 'ping' }, after: [failsWith!] }]);
      const [abortedWith] = await store.submit([{ owner: 'a', environ: { job_type: 'ping' }, after: [y!] }]);
      const w = await worker();
      const [ux] = (await take(store, w, 5)).filter((u) => u.job === x);
      await store.complete([failure(ux!)]);
      expect(await store.get(failsWith!)).toMatchObject({ status: 'Failed', error: `it waited for job ${x}, which ended Failed` });
      expect(await store.get(chained!)).toMatchObject({ status: 'Failed', error: `it waited for job ${failsWith}, which ended Failed` });
      expect((await store.get(chained!))!.date_end).not.toBeNull();
      expect(await store.get(any!)).toMatchObject({ status: 'Waiting' });
      await store.abort(y!);
      expect(await store.get(abortedWith!)).toMatchObject({ status: 'Aborted', error: `it waited for job ${y}, which ended Aborted` });
      const anyRecord = (await store.get(any!)) as JobRecord;
      expect(anyRecord.status).toBe('Queued');
      expect(Object.values(anyRecord.environ.after as Record<string, { status: string }>).map((d) => d.status).sort()).toEqual(['Aborted', 'Failed']);
      // A Waiting job can itself be aborted; waiting on an ended job releases at once; unknown ids are refused.
      const [late] = await store.submit([{ owner: 'a', environ: { job_type: 'ping' }, after: [anyRecord.id] }]);
      expect((await store.abort(late!)).status).toBe('Aborted');
      const [now] = await store.submit([{ owner: 'a', environ: { job_type: 'ping' }, after: [chained!], afterAny: true }]);
      expect(await store.get(now!)).toMatchObject({ status: 'Queued' });
      await expect(store.submit([{ owner: 'a', environ: { job_type: 'ping' }, after: ['no-such-job'] }])).rejects.toThrow(/waits for no-such-job, which does not exist/);
    });

    it('prunes ended jobs past their retention, their units, emptied groups and old events; the rest stays consistent', async () => {
      const [old, kept, running, queued] = await store.submit([
        ping('alice', { group: 'alice/old-run' }),
        ping('alice', { group: 'alice/keep', keepMs: 3_600_000 }),
        ping('bob'),
        ping('carol'),
      ]);
      const w = await worker();
      const units = await take(store, w, 3);
      const byJob = new Map(units.map((u) => [u.job, u]));
      await store.complete([success(byJob.get(old!)!, 'o', 2), success(byJob.get(kept!)!, 'k', 3)]);
      const usageBefore = (await store.queueSnapshot()).owners;
      const dry = await store.prune({ olderThanMs: 0, dryRun: true });
      expect(dry).toMatchObject({ jobs: 1, dryRun: true });
      expect(await store.get(old!)).not.toBeNull();
      const report = await store.prune({ olderThanMs: 0 });
      expect(report).toMatchObject({ jobs: 1, groups: 1, dryRun: false });
      expect(await store.get(old!)).toBeNull();
      expect(await store.units(old!)).toEqual([]);
      expect(await store.group('alice/old-run')).toBeNull();
      expect(await store.get(kept!)).toMatchObject({ status: 'Success' }); // its own keep is an hour
      expect(await store.get(running!)).toMatchObject({ status: 'Running' });
      expect(await store.get(queued!)).toMatchObject({ status: 'Queued' });
      expect((await store.users()).map((u) => [u.owner, u.jobs])).toEqual([['alice', 1], ['bob', 1], ['carol', 1]]);
      // Usage is not derived from jobs: pruning leaves fair share as it was.
      const usageAfter = (await store.queueSnapshot()).owners;
      for (const o of usageAfter) expect(o.usage).toBeCloseTo(usageBefore.find((b) => b.owner === o.owner)!.usage, 6);
      // Every event older than the window (0: all of them) went; one prune event says through which seq.
      expect(report.through).toBeGreaterThan(0);
      expect(await store.prunedThrough()).toBe(report.through);
      const left = await store.eventsAfter(0);
      expect(left.map((e) => e.verb)).toEqual(['prune']);
      expect(left[0]).toMatchObject({ verb: 'prune', through: report.through, jobs: 1 });
      // The running job still finishes and is recorded.
      await store.complete([success(byJob.get(running!)!, 'r')]);
      expect(await store.get(running!)).toMatchObject({ status: 'Success', result: 'r' });
      // Nothing left to prune writes nothing.
      const seq = await store.lastSeq();
      expect(await store.prune({ olderThanMs: 3_600_000 })).toMatchObject({ jobs: 0, events: 0 });
      expect(await store.lastSeq()).toBe(seq);
    });
  });
}
