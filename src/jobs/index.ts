import { Registry, type RegistryOptions } from '../environ/index.js';
import { ping } from './ping.js';
import { system } from './system.js';
import { jsJob } from './js.js';
import { JsPool } from './jsPool.js';
import { exec, cpuExec, sio2jailExec } from './exec.js';
import { unsafeExec } from './unsafeExec.js';
import { cpuInteractiveExec, interactiveExec, sio2jailInteractiveExec, unsafeInteractiveExec } from './interactive.js';
import { compile } from './compile.js';
import { ingen } from './ingen.js';
import { inwer } from './inwer.js';
import { sioworkersdGroup } from './sioworkersdGroup.js';

/** Job types whose units must run alone on an exclusive-capable worker, so that their timing is not disturbed. */
export const EXCLUSIVE_JOB_TYPES: ReadonlySet<string> = new Set(['cpu-exec', 'cpu-interactive-exec']);

/** The pool behind every `js` job of this process. */
export const jsPool = new JsPool();

/** A registry with the built-in jobs; plugins are found on first use of an unknown name. */
export function builtinRegistry(options: RegistryOptions = {}): Registry {
  return new Registry(options)
    .registerJob('ping', ping)
    .registerJob('system', system)
    .registerJob('js', jsJob(jsPool))
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
    .registerJob('sioworkersd-group', sioworkersdGroup);
}

export { killTree, descendantsOf } from './killTree.js';
