export { slurmScript, shellQuote, POOL_JOB_NAME, type PoolSpec } from './script.js';
export { parseWalltime, slurmWalltime } from './walltime.js';
export { submitPool, listPools, stopPool, type PoolRow } from './slurm.js';
