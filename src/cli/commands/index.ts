import type { Command } from 'commander';
import { register as batch } from './batch.js';
import { register as submit } from './submit.js';
import { register as job } from './job.js';
import { register as jobs } from './jobs.js';
import { register as wait } from './wait.js';
import { register as abort } from './abort.js';
import { register as users } from './users.js';
import { register as watch } from './watch.js';
import { register as worker } from './worker.js';
import { register as files } from './files.js';
import { register as fairshare } from './fairshare.js';
import { register as doctor } from './doctor.js';
import { register as compile } from './compile.js';
import { register as prune } from './prune.js';
import { register as control } from './control.js';
import { register as mail } from './mail.js';
import { register as pool } from './pool.js';
import { register as bridge } from './bridge.js';
import { register as workers } from './workers.js';
import { register as serve } from './serve.js';

/** Every command of the CLI, one file each; add a command by adding its register function here. */
export const commands: Array<(program: Command) => void> = [submit, job, jobs, wait, abort, users, watch, worker, fairshare, files, batch, doctor, compile, prune, control, mail, pool, bridge, workers, serve];
