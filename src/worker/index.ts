export { Worker, type WorkerOptions } from './worker.js';
export { watchLifetime, type Lifetime } from './lifetime.js';
