import { Registry, type RegistryOptions } from '../environ/index.js';
import { ping } from './ping.js';
import { systemJob } from './system.js';
import { jsJob } from './js.js';
import { JsPool } from './jsPool.js';
import { exec, cpuExec, sio2jailExec } from './exec.js';
import { unsafeExec } from './unsafeExec.js';
import { cpuInteractiveExec, interactiveExec, sio2jailInteractiveExec, unsafeInteractiveExec } from './interactive.js';
import { compile } from './compile.js';
import { ingen } from './ingen.js';
import { inwer } from './inwer.js';
import { sioworkersdGroup } from './sioworkersdGroup.js';
import { mergeInput } from './mergeInput.js';

/** Job types whose units must run alone on an exclusive-capable worker, so that their timing is not disturbed. */
export const EXCLUSIVE_JOB_TYPES: ReadonlySet<string> = new Set(['cpu-exec', 'cpu-interactive-exec']);

/** The pool of `js` jobs run by registries that are given none (tests, benchmarks); a composition root makes its own. */
export const jsPool = new JsPool();

export interface BuiltinOptions extends RegistryOptions {
  /** runs the `js` jobs (default: the shared `jsPool`); its owner closes it */
  jsPool?: JsPool;
  /** extra variable names `system` jobs see (SLUICE_JOB_ENV) */
  passEnv?: readonly string[];
}

/** A registry with the built-in jobs; plugins are found on first use of an unknown name. */
export function builtinRegistry(options: BuiltinOptions = {}): Registry {
  const { jsPool: pool = jsPool, passEnv = [], ...registry } = options;
  return new Registry(registry)
    .registerJob('ping', ping)
    .registerJob('system', systemJob(passEnv))
    .registerJob('js', jsJob(pool))
    .registerJob('exec', exec)
    .registerJob('cpu-exec', cpuExec)
    .registerJob('sio2jail-exec', sio2jailExec)
    .registerJob('unsafe-exec', unsafeExec)
    .registerJob('interactive-exec', interactiveExec)
    .registerJob('cpu-interactive-exec', cpuInteractiveExec)
    .registerJob('sio2jail-interactive-exec', sio2jailInteractiveExec)
    .registerJob('unsafe-interactive-exec', unsafeInteractiveExec)
    .registerJob('compile', compile)
    .registerJob('ingen', ingen)
    .registerJob('inwer', inwer)
    .registerJob('sioworkersd-group', sioworkersdGroup)
    .registerFilter('merge_input', mergeInput);
}

export { killTree, descendantsOf } from './killTree.js';
export { JsPool } from './jsPool.js';
