export * from './types.js';
export { LocalService } from './local.js';
export { openService } from './open.js';
