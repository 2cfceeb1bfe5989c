export { Worker, DEFAULT_LEASE_MS, type WorkerOptions } from './worker.js';
