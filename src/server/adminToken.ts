import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalService } from '../service/index.js';

/** The admin that a first start makes (Jupyter's zero-setup URL): its name, and the file under SLUICE_HOME that keeps its token. */
export const ADMIN_USER = 'admin';
export const TOKEN_FILE = 'server-token';

/**
 * The admin token `sluice serve` prints at every start: read from SLUICE_HOME/server-token (mode
 * 0600), made there on the first start. If the store does not know it (a new store, a revoked
 * token), the `admin` user gets it: created if missing, its token renewed if not.
 */
export async function adminToken(service: LocalService, home: string): Promise<string> {
  const file = path.join(home, TOKEN_FILE);
  let token: string | undefined;
  try {
    token = readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    token = undefined;
  }
  const known = token ? await service.userByToken(token) : null;
  if (token && known?.role === 'admin') return token;
  const existing = (await service.listUsers()).find((u) => u.name === ADMIN_USER);
  if (existing) {
    if (existing.role !== 'admin') await service.setUser(ADMIN_USER, { role: 'admin' });
    token = await service.newToken(ADMIN_USER);
  } else {
    token = (await service.addUser(ADMIN_USER, { role: 'admin' })).token;
  }
  mkdirSync(home, { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}
