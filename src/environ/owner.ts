import os from 'node:os';

/** The default owner: SLUICE_USER, else the login name unless it is root, else the host name (PARK's usertag). */
export function defaultUser(configured: string | undefined, env: Record<string, string | undefined>): string {
  if (configured) return configured;
  let login = env.LOGNAME || env.USER || '';
  if (!login) {
    try {
      login = os.userInfo().username;
    } catch {
      login = '';
    }
  }
  if (login && login !== 'root') return login;
  return os.hostname();
}
