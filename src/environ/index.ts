export * from './types.js';
export * from './errors.js';
export { parseEnviron, assertEnviron, parseAssignment } from './parse.js';
export { Registry, type RegistryOptions } from './registry.js';
export { run, type RunOptions } from './run.js';
export { Workdir } from './workdir.js';
export { LocalFiles } from './localFiles.js';
export { resultOf } from './result.js';
export { PACKAGE_ROOT, builtFile, sluiceHome } from './paths.js';
