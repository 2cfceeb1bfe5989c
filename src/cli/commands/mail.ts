import type { Command } from 'commander';
import { UsageError } from '../../environ/index.js';
import { configuredMailer } from '../../service/index.js';
import { cliConfig, withService } from '../service.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  const mail = program.command('mail').description("Sluice's e-mail: notices of ended jobs and the daily digests (SLUICE_SMTP_URL)");
  mail
    .command('send-digests')
    .description('send every digest that is due now (the jobs that ended before the last SLUICE_DIGEST_AT), and any mail waiting')
    .option('--now <time>', 'send what is due at this time instead (ISO 8601; for operators and tests)')
    .option('--json', 'print JSON')
    .action(async (opts: { now?: string; json?: boolean }) => {
      const config = cliConfig();
      if (!config.smtpUrl) throw new UsageError('no mail server: set SLUICE_SMTP_URL (smtp://host:port or smtps://…)');
      const now = opts.now === undefined ? Date.now() : Date.parse(opts.now);
      if (Number.isNaN(now)) throw new UsageError(`--now must be a time like 2026-12-02T08:00, got "${opts.now}"`);
      await withService(async (service) => {
        const mailer = configuredMailer(service.store, config, (line) => process.stderr.write(`sluice: ${line}\n`))!;
        try {
          const sent = await mailer.sendDue(now);
          if (opts.json) printJson(sent);
          else process.stdout.write(`sent ${sent.digests} digest(s) and ${sent.mails} mail(s)\n`);
        } finally {
          await mailer.stop();
        }
      }, { write: true });
    });
}
