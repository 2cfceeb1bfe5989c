export * from './types.js';
export { openStore, type OpenStoreOptions } from './open.js';
export { SqliteStore } from './sqlite/store.js';
export { SqliteDriver } from './sqlite/driver.js';
export { DriverStore } from './engine.js';
export type { Driver, ReadTx, WriteTx } from './driver.js';
export { StoreError } from './sqlite/errors.js';
export { infoOf, DEFAULT_POOL } from './info.js';
export { DEFAULT_STORE_OPTIONS, groupPathParts } from './rules.js';
