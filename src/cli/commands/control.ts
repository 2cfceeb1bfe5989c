import type { Command } from 'commander';
import { UsageError } from '../../environ/index.js';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  serverOptions(program.command('control'))
    .argument('<id>', 'a job id')
    .argument('<json>', 'the message, as JSON ("-" reads it from standard input)')
    .description("send a control message to a queued or running job (PARK's control): a js job reads it from ctx.messages(), a system job from fd 3")
    .option('--json', 'print JSON')
    .action(async (id: string, text: string, opts: RemoteFlags & { json?: boolean }) => {
      const raw = text === '-' ? await readStdin() : text;
      let message: unknown;
      try {
        message = JSON.parse(raw);
      } catch (err) {
        throw new UsageError(`the control message is not JSON: ${(err as Error).message}`);
      }
      await withSluice(opts, async (service) => {
        const { seq } = await service.control(id, message);
        if (opts.json) printJson({ id, seq });
        else process.stdout.write(`message ${seq} sent to job ${id}\n`);
      }, { write: true });
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
