import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../../environ/index.js';
import type { JobRecord, OutboxItem, Store } from '../../store/index.js';
import { digestMail, jobMail, type Mail } from './compose.js';

/** How long a sender holds an item it is sending; a crashed sender's items come back after it. */
const LEASE_MS = 60_000;
/** Retries after a failed send: 5 s, doubling, at most an hour apart; given up after this many tries. */
const RETRY_MS = 5_000;
const RETRY_MAX_MS = 3_600_000;
const MAX_ATTEMPTS = 20;
/** How often a long-lived process looks for mail to send. */
const EVERY_MS = 2000;

export interface MailerOptions {
  smtpUrl: string;
  smtpAuth?: { user: string; pass: string } | undefined;
  from: string;
  digestAt: { hour: number; minute: number };
  publicUrl?: string | undefined;
  log?: (line: string) => void;
}

/** The mailer a configuration asks for; undefined when no SLUICE_SMTP_URL is set. */
export function configuredMailer(store: Store, config: Config, log: (line: string) => void): Mailer | undefined {
  if (!config.smtpUrl) return undefined;
  return new Mailer(store, { smtpUrl: config.smtpUrl, smtpAuth: config.smtpAuth, from: config.mailFrom, digestAt: config.digestAt, publicUrl: config.server.publicUrl, log });
}

/**
 * Sends Sluice's mail from the store's outbox: one mail when a job ends (`--notify-now`), and each
 * address's daily digest at `digestAt` (PARK's default). Everything to send is a row in the store,
 * taken with a lease, so a restart loses none and two senders never send the same; a failed send
 * is retried with backoff. It runs beside a worker's loop or a server, never in the claim path.
 */
export class Mailer {
  private readonly transport: Transporter;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly options: MailerOptions,
  ) {
    this.transport = nodemailer.createTransport({ url: options.smtpUrl, ...(options.smtpAuth ? { auth: options.smtpAuth } : {}) });
  }

  /** Sends what is due now: mails of ended jobs, and the digests whose hour has come. */
  async sendDue(now = Date.now()): Promise<{ mails: number; digests: number }> {
    return { mails: await this.sendMails(), digests: await this.sendDigests(now) };
  }

  /**
   * Sends every digest due at `now`: for each address, one mail listing its jobs that ended before
   * the latest digest time. A job recorded after its address's digest went out (a worker's clock
   * behind the sender's) waits for the next day's: one digest per address per day.
   */
  async sendDigests(now = Date.now()): Promise<number> {
    const cutoff = latestDigestTime(now, this.options.digestAt);
    const byAddress = new Map<string, OutboxItem[]>();
    for (;;) {
      const items = await this.store.claimOutbox('digest', 1000, LEASE_MS, cutoff);
      if (!items.length) break;
      for (const item of items) byAddress.set(item.target, [...(byAddress.get(item.target) ?? []), item]);
    }
    let sent = 0;
    for (const [address, list] of byAddress) {
      if (await this.store.digestSent(address, cutoff)) {
        for (const item of list) await this.store.postponeOutbox(item.id, cutoff + 1);
        continue;
      }
      const records = await this.records(list);
      const shown = records.filter((record, i) => !(list[i]!.only_failures && record.status === 'Success'));
      if (!shown.length) {
        for (const item of list) await this.store.finishOutbox(item.id, { ok: true });
        continue;
      }
      if (await this.send(digestMail(address, shown, dayOf(cutoff), this.options.publicUrl), list, cutoff)) sent++;
    }
    return sent;
  }

  /** Keeps sending in the background every couple of seconds until stopped. */
  start(): void {
    const tick = () => {
      this.running = this.sendDue().catch((err) => this.log(`mail: ${(err as Error).message}`));
      void this.running.then(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, EVERY_MS).unref();
      });
    };
    this.timer = setTimeout(tick, EVERY_MS).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    this.transport.close();
  }

  private async sendMails(): Promise<number> {
    let sent = 0;
    for (;;) {
      const items = await this.store.claimOutbox('mail', 100, LEASE_MS);
      if (!items.length) return sent;
      const records = await this.records(items);
      for (const [i, item] of items.entries()) {
        const record = records[i]!;
        if (item.only_failures && record.status === 'Success') {
          await this.store.finishOutbox(item.id, { ok: true });
          continue;
        }
        if (await this.send(jobMail(item.target, record, this.options.publicUrl), [item])) sent++;
      }
    }
  }

  private async records(items: OutboxItem[]): Promise<JobRecord[]> {
    return Promise.all(items.map(async (item) => (await this.store.get(item.job)) as JobRecord));
  }

  /** One mail for these items: they are done when it went, due again later when it did not. */
  private async send(mail: Mail, items: OutboxItem[], digestOf?: number): Promise<boolean> {
    try {
      await this.transport.sendMail({ from: this.options.from, to: mail.to, subject: mail.subject, text: mail.text });
    } catch (err) {
      const error = (err as Error).message;
      const attempts = Math.max(...items.map((i) => i.attempts));
      const retryAt = attempts >= MAX_ATTEMPTS ? null : Date.now() + Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (attempts - 1));
      this.log(`mail to ${mail.to} failed (attempt ${attempts}): ${error}${retryAt === null ? '; given up' : ''}`);
      for (const item of items) await this.store.finishOutbox(item.id, { ok: false, error, retryAt });
      return false;
    }
    for (const item of items) await this.store.finishOutbox(item.id, digestOf === undefined ? { ok: true } : { ok: true, digestOf });
    return true;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

/** The latest digest hour at or before `now`, local time. */
export function latestDigestTime(now: number, at: { hour: number; minute: number }): number {
  const d = new Date(now);
  d.setHours(at.hour, at.minute, 0, 0);
  if (d.getTime() > now) d.setDate(d.getDate() - 1);
  return d.getTime();
}

function dayOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}
