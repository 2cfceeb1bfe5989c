import type { Command } from 'commander';
import { register as batch } from './batch.js';

/** Every command of the CLI, one file each; add a command by adding its register function here. */
export const commands: Array<(program: Command) => void> = [batch];
