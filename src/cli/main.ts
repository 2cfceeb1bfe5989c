#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { fail, quietOnClosedPipe } from './io.js';
import { UsageError } from '../environ/index.js';
import { commands } from './commands/index.js';

const program = new Command('sluice')
  .description('Sluice: long computations for many users, fairly and safely')
  .version('0.1.0')
  .exitOverride()
  // A subcommand's options are its own even when its parent has one of the same name (users --json, users add --json).
  .enablePositionalOptions()
  .configureOutput({ writeErr: (text) => process.stderr.write(text.startsWith('error:') ? `sluice: ${text.slice(7)}` : text) });

for (const register of commands) register(program);
quietOnClosedPipe();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Help and version end with exit 0; commander already printed usage errors.
    process.exit(err.exitCode === 0 ? 0 : new UsageError('').exitCode);
  }
  fail(err);
}
