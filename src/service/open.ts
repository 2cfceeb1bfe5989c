import type { Config } from '../environ/index.js';
import { openStore, type Store } from '../store/index.js';
import { builtinRegistry } from '../jobs/index.js';
import { fileAccessFor } from '../files/index.js';
import { DEFAULT_POLICY } from '../schedule/index.js';
import { LocalService } from './local.js';
import type { Service } from './types.js';

/** What a store opened for `config` is told (its half-life, lease, limits). */
export function storeOptionsOf(config: Config) {
  return {
    halfLifeMs: config.halfLifeMs,
    liveWorkerMs: config.leaseMs,
    maxLost: config.maxLost,
    retentionMs: config.retentionMs,
    maxEnvironBytes: config.maxEnvironBytes,
  };
}

/** Opens the store `config` names (see store/open.ts for `create` and `onCreate`). */
export function openConfiguredStore(config: Config, options: { create?: boolean; onCreate?: (file: string) => void } = {}): Promise<Store> {
  return openStore(config.store, { ...options, ...storeOptionsOf(config) });
}

/** The service this process should use: today always local (a store named by SLUICE_STORE/SLUICE_HOME). */
export async function openService(config: Config, options: { create?: boolean; onCreate?: (file: string) => void } = {}): Promise<LocalService & Service> {
  const store = await openConfiguredStore(config, options);
  return new LocalService(store, {
    registry: builtinRegistry(),
    files: fileAccessFor,
    leaseMs: config.leaseMs,
    policy: { ...DEFAULT_POLICY, halfLifeMs: config.halfLifeMs },
  });
}
