export * from './types.js';
export { openStore } from './open.js';
export { SqliteStore } from './sqlite/store.js';
export { infoOf } from './info.js';
