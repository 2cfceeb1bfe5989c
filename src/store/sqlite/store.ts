import type { StoreOptions } from '../types.js';
import { DriverStore } from '../engine.js';
import { SqliteDriver } from './driver.js';

/** The embedded store: the store's decisions over the SQLite driver, on one database file. */
export class SqliteStore extends DriverStore {
  constructor(
    readonly file: string,
    options: Partial<StoreOptions> = {},
  ) {
    super(new SqliteDriver(file), options);
  }
}
