import type { StoreOptions } from '../types.js';
import { DriverStore } from '../engine.js';
import { PostgresDriver, type PostgresOptions } from './driver.js';

/** The distributed store: the store's decisions over the PostgreSQL driver. */
export class PostgresStore extends DriverStore {
  static async open(url: string, options: Partial<StoreOptions> & PostgresOptions = {}): Promise<PostgresStore> {
    const { schema, poolSize, ...storeOptions } = options;
    return new PostgresStore(await PostgresDriver.open(url, { ...(schema ? { schema } : {}), ...(poolSize ? { poolSize } : {}) }), storeOptions);
  }
}
