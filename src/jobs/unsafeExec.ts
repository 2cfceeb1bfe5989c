import { execJob } from './exec.js';

/**
 * `unsafe-exec`: the exec job without isolation (no namespaces, no seccomp, no uid change), for
 * trusted code only. The same limits and measurements apply (rlimits, and cgroups where the machine
 * has them), so its figures are comparable with `exec`'s.
 */
export const unsafeExec = execJob('unsafe-exec');
