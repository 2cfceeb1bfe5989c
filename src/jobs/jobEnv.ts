/**
 * The one policy for what a job's processes (a `system` command, a `js` child) see of the worker's
 * environment: an allow-list. A worker's environment holds its own settings (`SLUICE_*`: store
 * URLs, tokens) and often an operator's secrets (cloud keys, database passwords); a job submitted
 * by one user must see none of them. What passes is what programs need to behave as they would in
 * a login shell: where to find programs, the user, the home, the locale, the time zone, the
 * temporary folder. An operator can add names with `SLUICE_JOB_ENV` (comma-separated; the
 * configuration passes them as `names`), never a `SLUICE_*` one. Documented in docs/design.md
 * ("What a job's processes see").
 */
export const PASSED_VARIABLES: readonly string[] = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'TERM'];

/** Locale categories (LC_ALL, LC_CTYPE, ...) pass as well. */
const PASSED_PREFIX = 'LC_';

/**
 * The environment for a job's process: the allowed variables of `from` (the worker's own
 * environment, whose values are what passes on), plus `extra` (the job's own variables, e.g.
 * SLUICE_JOB_ID), which win. `names` are the operator's additions.
 */
export function jobEnv(extra: Record<string, string> = {}, names: readonly string[] = [], from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const allowed = new Set([...PASSED_VARIABLES, ...names.filter((name) => !name.startsWith('SLUICE_'))]);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) {
    if (value !== undefined && (allowed.has(name) || name.startsWith(PASSED_PREFIX))) env[name] = value;
  }
  return Object.assign(env, extra);
}
