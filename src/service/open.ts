import { openStore } from '../store/index.js';
import { builtinRegistry } from '../jobs/index.js';
import { fileAccessFor } from '../files/index.js';
import { LocalService } from './local.js';
import type { Service } from './types.js';

/** The service this process should use: today always local (a store named by SLUICE_STORE/SLUICE_HOME). */
export async function openService(env: NodeJS.ProcessEnv = process.env): Promise<LocalService & Service> {
  return new LocalService(await openStore(env), { registry: builtinRegistry(), files: fileAccessFor });
}
