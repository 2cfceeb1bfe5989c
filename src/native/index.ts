/**
 * What scripts/build-native.mjs builds from this folder, as paths inside dist/ (the sandbox finds
 * them with builtFile()): the helper (sluice-run/, one file per job), the seccomp filter that
 * sluice-seccomp.c writes when libseccomp-dev is installed, and the reaper behind `system` jobs
 * (sluice-reap.c).
 */
export const NATIVE_HELPER = 'native/sluice-run';
export const NATIVE_SECCOMP_FILTER = 'native/seccomp.bpf';
export const NATIVE_REAPER = 'native/sluice-reap';
