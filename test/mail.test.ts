import { describe, expect, it } from 'vitest';
import { exited, sluice, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { testScope } from './helpers/scope.js';
import { startSmtp, type TestSmtp } from './helpers/smtp.js';

/** A local time of day `days` from today, as `sluice mail send-digests --now` takes it (TZ=UTC in these tests). */
function dayAt(days: number, hhmm: string): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.toISOString().slice(0, 10)}T${hhmm}:00Z`;
}

describe.each(BACKENDS)('e-mail on $name', (backend) => {
  const scope = testScope(backend);

  async function smtp(): Promise<TestSmtp> {
    const s = await startSmtp();
    scope.defer(() => s.close());
    return s;
  }

  async function submit(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
    const r = await sluice(['submit', ...args], env);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  }

  it('--notify-now: one mail per ended job, with status, result or error and a link; two workers send none twice', async () => {
    const server = await smtp();
    const h = scope.home({ SLUICE_SMTP_URL: server.url, SLUICE_MAIL_FROM: 'judge@sluice.test', SLUICE_PUBLIC_URL: 'https://sluice.example/' });
    const ok = await submit(h.env, ['--name', 'adds', '--cmd', 'return 1 + 1', '--notify', 'ann@example.com', '--notify-now']);
    const bad = await submit(h.env, ['--name', 'throws', '--cmd', 'throw new Error("no luck")', '--notify', 'ann@example.com', '--notify-now']);
    const quiet = await submit(h.env, ['--name', 'fine', '--cmd', 'return 3', '--notify', 'bob@example.com', '--notify-now', '--notify-on', 'failure']);
    const loud = await submit(h.env, ['--name', 'fails', '--cmd', 'throw new Error("x")', '--notify', 'bob@example.com', '--notify-now', '--notify-on', 'failure']);
    await scope.worker(h.env);
    await scope.worker(h.env);
    for (const id of [ok, bad, quiet, loud]) expect((await sluice(['wait', id, '--timeout', '30'], h.env)).code).not.toBe(2);
    await server.waitFor(3);
    // Every item is settled once the mails went: then no fourth can come.
    await until(async () => {
      const records = await Promise.all([ok, bad, quiet, loud].map(async (id) => JSON.parse((await sluice(['job', id, '--json'], h.env)).stdout)));
      return records.every((r) => r.notify?.state === 'done') ? true : undefined;
    }, 20_000, 'every notice done');
    expect(server.mails).toHaveLength(3);
    const byJob = (name: string) => server.mails.find((m) => m.subject?.includes(name))!;
    const okMail = byJob('adds');
    expect(okMail.subject).toBe('Sluice: adds ended Success');
    expect(okMail.from?.text).toBe('judge@sluice.test');
    expect(okMail.to && 'text' in okMail.to ? okMail.to.text : '').toBe('ann@example.com');
    expect(okMail.text).toContain('result:   2');
    expect(okMail.text).toContain(`link:     https://sluice.example/#/jobs/${ok}`);
    expect(okMail.text).toMatch(/started: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(byJob('throws').subject).toBe('Sluice: throws ended Failed');
    expect(byJob('throws').text).toContain('no luck');
    expect(byJob('fails').subject).toBe('Sluice: fails ended Failed');
    expect(server.mails.some((m) => m.subject?.includes('fine'))).toBe(false);
    const record = JSON.parse((await sluice(['job', ok, '--json'], h.env)).stdout);
    expect(record.notify).toMatchObject({ address: 'ann@example.com', mode: 'now', on: 'always', state: 'done', attempts: 1 });
  }, 60_000);

  it('the daily digest: exactly one per address per day, counts by status, a job recorded after it waits for the next', async () => {
    const server = await smtp();
    const h = scope.home({ TZ: 'UTC' });
    const mailEnv = { ...h.env, SLUICE_SMTP_URL: server.url, SLUICE_DIGEST_AT: '08:00' };
    const ids = [
      await submit(h.env, ['--name', 'one', '--cmd', 'return 1', '--notify', 'ann@example.com']),
      await submit(h.env, ['--name', 'two', '--cmd', 'throw new Error("nope")', '--notify', 'ann@example.com']),
      await submit(h.env, ['--name', 'three', '--cmd', 'return 3', '--notify', 'ann@example.com']),
      await submit(h.env, ['--name', 'four', '--cmd', 'return 4', '--notify', 'bob@example.com']),
    ];
    const w = await scope.worker(h.env);
    for (const id of ids) await sluice(['wait', id, '--timeout', '30'], h.env);
    // Before tomorrow's hour nothing is due: the jobs ended after today's.
    const early = await sluice(['mail', 'send-digests', '--now', dayAt(0, '07:59'), '--json'], mailEnv);
    expect(early.code, early.stderr).toBe(0);
    expect(JSON.parse(early.stdout)).toEqual({ digests: 0, mails: 0 });

    const first = await sluice(['mail', 'send-digests', '--now', dayAt(1, '08:30')], mailEnv);
    expect(first).toMatchObject({ code: 0, stdout: 'sent 2 digest(s) and 0 mail(s)\n' });
    expect(server.mails).toHaveLength(2);
    const ann = server.mails.find((m) => m.text?.includes('one ('))!;
    expect(ann.subject).toBe(`Sluice digest for ${dayAt(1, '08:00').slice(0, 10)}: 1 Failed, 2 Success`);
    expect(ann.text).toContain('3 job(s) ended: 1 Failed, 2 Success.');
    for (const name of ['one', 'two', 'three']) expect(ann.text).toContain(`${name} (`);
    expect(ann.text).not.toContain('four (');
    const bob = server.mails.find((m) => m !== ann)!;
    expect(bob.to && 'text' in bob.to ? bob.to.text : '').toBe('bob@example.com');
    expect(bob.subject).toContain('1 Success');

    // Later the same day: nothing more, even for a job that shows up now with an end time before the hour.
    const late = await submit(h.env, ['--name', 'five', '--cmd', 'return 5', '--notify', 'ann@example.com']);
    await sluice(['wait', late, '--timeout', '30'], h.env);
    expect((await sluice(['mail', 'send-digests', '--now', dayAt(1, '20:00')], mailEnv)).stdout).toBe('sent 0 digest(s) and 0 mail(s)\n');
    expect(server.mails).toHaveLength(2);
    // The next day's digest has it, and only it.
    expect((await sluice(['mail', 'send-digests', '--now', dayAt(2, '08:00')], mailEnv)).stdout).toBe('sent 1 digest(s) and 0 mail(s)\n');
    expect(server.mails).toHaveLength(3);
    expect(server.mails[2]!.text).toContain('1 job(s) ended: 1 Success.');
    expect(server.mails[2]!.text).toContain('five (');
    expect(server.mails[2]!.text).not.toContain('one (');
    expect((await sluice(['mail', 'send-digests', '--now', dayAt(3, '08:00')], mailEnv)).stdout).toBe('sent 0 digest(s) and 0 mail(s)\n');
    w.kill('SIGTERM');
    await exited(w);
  }, 90_000);

  it('a refused mail is sent again; a sender killed with mail pending loses none and sends none twice', async () => {
    const server = await smtp();
    server.refuseNext(1);
    const h = scope.home({ SLUICE_SMTP_URL: server.url });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await submit(h.env, ['--name', `job${i}`, '--cmd', `return ${i}`, '--notify', 'ann@example.com', '--notify-now']));
    const first = await scope.worker(h.env);
    for (const id of ids) await sluice(['wait', id, '--timeout', '30'], h.env);
    // The refused one comes a retry later (5 s); kill the worker before, and another sends it.
    // Killed once the three sent are recorded as sent: one killed between the SMTP server's yes and
    // that record would send it again after its lease (at least once, docs/mail.md).
    await server.waitFor(3);
    await until(async () => {
      const records = await Promise.all(ids.map(async (id) => JSON.parse((await sluice(['job', id, '--json'], h.env)).stdout)));
      return records.filter((r) => r.notify?.state === 'done').length === 3 ? true : undefined;
    }, 20_000, 'three notices recorded as sent');
    first.kill('SIGKILL');
    await exited(first);
    expect(server.refused()).toBe(1);
    const second = await scope.worker(h.env);
    await server.waitFor(4, 30_000);
    await until(async () => {
      const records = await Promise.all(ids.map(async (id) => JSON.parse((await sluice(['job', id, '--json'], h.env)).stdout)));
      return records.every((r) => r.notify?.state === 'done') ? records : undefined;
    }, 20_000, 'every notice done');
    expect(server.mails.map((m) => m.subject).sort()).toEqual(ids.map((_, i) => `Sluice: job${i} ended Success`));
    const records = await Promise.all(ids.map(async (id) => JSON.parse((await sluice(['job', id, '--json'], h.env)).stdout)));
    expect(records.map((r) => r.notify.attempts).sort()).toEqual([1, 1, 1, 2]);
    expect(records.find((r) => r.notify.attempts === 2).notify.last_error).toMatch(/451/);
    second.kill('SIGTERM');
    await exited(second);
  }, 90_000);

  it('mail is sent while the SMTP server was down when the jobs ended, once it is back', async () => {
    const down = await startSmtp();
    const url = down.url;
    await down.close();
    const h = scope.home({ SLUICE_SMTP_URL: url });
    const id = await submit(h.env, ['--cmd', 'return 7', '--notify', 'ann@example.com', '--notify-now']);
    const w = await scope.worker(h.env);
    await sluice(['wait', id, '--timeout', '30'], h.env);
    const failed = await until(async () => {
      const r = JSON.parse((await sluice(['job', id, '--json'], h.env)).stdout);
      return r.notify.last_error ? r : undefined;
    }, 20_000, 'a failed try');
    expect(failed.notify).toMatchObject({ state: 'due', attempts: 1 });
    expect(failed.notify.last_error).toMatch(/ECONNREFUSED/);
    w.kill('SIGKILL');
    await exited(w);
    // Back on the same port: the next sender delivers it.
    const back = await startSmtp(Number(new URL(url).port));
    scope.defer(() => back.close());
    await scope.worker(h.env);
    await back.waitFor(1, 30_000);
    expect(back.mails[0]!.subject).toBe('Sluice: vm-js ended Success');
  }, 90_000);

  it('bad mail settings and addresses are clear errors at submit and lose nothing', async () => {
    const h = scope.home();
    expect(await sluice(['submit', '--cmd', '1', '--notify', 'not-an-address'], h.env)).toMatchObject({ code: 2, stderr: 'sluice: not an e-mail address: "not-an-address"\n' });
    expect(await sluice(['submit', '--cmd', '1', '--notify-now'], h.env)).toMatchObject({ code: 2, stderr: 'sluice: --notify-now and --notify-on go with --notify ADDRESS\n' });
    expect(await sluice(['submit', '--cmd', '1', '--notify', 'a@b.cd', '--notify-on', 'sometimes'], h.env)).toMatchObject({
      code: 2, stderr: 'sluice: --notify-on must be always or failure, got "sometimes"\n',
    });
    expect(await sluice(['mail', 'send-digests'], h.env)).toMatchObject({ code: 2, stderr: 'sluice: no mail server: set SLUICE_SMTP_URL (smtp://host:port or smtps://…)\n' });
    expect(await sluice(['mail', 'send-digests'], { ...h.env, SLUICE_SMTP_URL: 'mail.example.com' })).toMatchObject({
      code: 2, stderr: 'sluice: SLUICE_SMTP_URL must be smtp://[user:pass@]host[:port] or smtps://…, got "mail.example.com"\n',
    });
    expect(await sluice(['mail', 'send-digests'], { ...h.env, SLUICE_SMTP_URL: 'smtp://127.0.0.1:1', SLUICE_DIGEST_AT: '8am' })).toMatchObject({
      code: 2, stderr: 'sluice: SLUICE_DIGEST_AT must be a local time of day like 08:00, got "8am"\n',
    });
    expect(await sluice(['mail', 'send-digests', '--now', 'tomorrow'], { ...h.env, SLUICE_SMTP_URL: 'smtp://127.0.0.1:1' })).toMatchObject({
      code: 2, stderr: 'sluice: --now must be a time like 2026-12-02T08:00, got "tomorrow"\n',
    });
    expect(await sluice(['mail', 'send-digests'], { ...h.env, SLUICE_SMTP_URL: 'smtp://127.0.0.1:1', SLUICE_SMTP_USER: 'me' })).toMatchObject({
      code: 2, stderr: 'sluice: SLUICE_SMTP_USER and SLUICE_SMTP_PASSWORD go together: set both or neither\n',
    });
    expect((await sluice(['jobs', '--json'], h.env)).stdout.trim()).toBe('[]');
  });

  it("a user's own address puts their jobs in their digest unless the job names another", async () => {
    const server = await smtp();
    const h = scope.home({ TZ: 'UTC', SLUICE_USER: 'ann' });
    expect((await sluice(['users', 'add', 'ann', '--role', 'user'], h.env)).code).toBe(0);
    expect(await sluice(['users', 'set', 'ann', '--email', 'not-an-address'], h.env)).toMatchObject({ code: 2 });
    expect((await sluice(['users', 'set', 'ann', '--email', 'ann@example.com'], h.env)).code).toBe(0);
    const mine = await submit(h.env, ['--cmd', 'return 1']);
    const other = await submit(h.env, ['--cmd', 'return 2', '--notify', 'team@example.com']);
    const nobody = await submit({ ...h.env, SLUICE_USER: 'bob' }, ['--cmd', 'return 3']);
    await scope.worker(h.env);
    for (const id of [mine, other, nobody]) await sluice(['wait', id, '--timeout', '30'], h.env);
    expect(JSON.parse((await sluice(['job', mine, '--json'], h.env)).stdout).notify).toMatchObject({ address: 'ann@example.com', mode: 'digest' });
    expect(JSON.parse((await sluice(['job', nobody, '--json'], h.env)).stdout).notify).toBeUndefined();
    expect((await sluice(['mail', 'send-digests', '--now', dayAt(1, '09:00')], { ...h.env, SLUICE_SMTP_URL: server.url })).stdout).toBe('sent 2 digest(s) and 0 mail(s)\n');
    expect(server.mails.map((m) => (m.to && 'text' in m.to ? m.to.text : '')).sort()).toEqual(['ann@example.com', 'team@example.com']);
  }, 60_000);
});
