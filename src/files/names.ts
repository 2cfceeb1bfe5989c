/**
 * Names in the file store (filetracker's data model): absolute paths such as `/tests/1/in`, optionally
 * versioned as `/tests/1/in@1712345678`. A version is an integer Unix time in seconds. These checks are
 * the only gate between a request and the storage, so they are strict: a bad name is refused with a
 * reason, never "cleaned up".
 */
import { UsageError } from '../environ/index.js';

/** A name split into its path and optional version. */
export interface FileName {
  path: string;
  version?: number;
}

/** Longest accepted path, in UTF-8 bytes (the version suffix not counted). */
export const MAX_PATH_BYTES = 1024;
/** Longest accepted path component, in UTF-8 bytes (as most file systems). */
export const MAX_COMPONENT_BYTES = 255;
/** Largest version: the last second of year 9999, so that every version has an HTTP date. */
export const MAX_VERSION = 253_402_300_799;

/** Why `name` is not a valid file name, or undefined when it is valid. */
function pathProblem(path: string, what: string): string | undefined {
  if (typeof path !== 'string' || path === '') return `${what} is empty`;
  if (!path.startsWith('/')) return `${what} must be absolute (start with "/")`;
  // Control characters, NUL included: no file system or log line is happy with them.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return `${what} contains a control character`;
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `${what} is longer than ${MAX_PATH_BYTES} bytes`;
  if (path === '/') return `${what} names the root folder, not a file`;
  const parts = path.slice(1).split('/');
  for (const part of parts) {
    if (part === '') return `${what} has an empty component ("//" or a trailing "/")`;
    if (part === '.' || part === '..') return `${what} contains a "${part}" component`;
    if (Buffer.byteLength(part) > MAX_COMPONENT_BYTES) return `${what} has a component longer than ${MAX_COMPONENT_BYTES} bytes`;
    if (part.includes('@')) return `${what} contains "@" (allowed only once, before the version, in the last component)`;
  }
  return undefined;
}

/**
 * Parses a name such as `/a/b` or `/a/b@17`. Throws `UsageError` with the reason when it is not valid:
 * not absolute, a `.`/`..`/empty component, a control character or NUL, too long, or a bad version.
 */
export function parseName(name: unknown): FileName {
  if (typeof name !== 'string') throw new UsageError('a file name must be a string');
  const at = name.lastIndexOf('@');
  const lastSlash = name.lastIndexOf('/');
  let path = name;
  let version: number | undefined;
  if (at > lastSlash) {
    const text = name.slice(at + 1);
    path = name.slice(0, at);
    if (!/^\d{1,15}$/.test(text) || Number(text) > MAX_VERSION) {
      throw new UsageError(`bad version "${text}" in file name "${shorten(name)}": it must be an integer Unix time in seconds`);
    }
    version = Number(text);
  }
  const problem = pathProblem(path, `file name "${shorten(name)}"`);
  if (problem) throw new UsageError(problem);
  return version === undefined ? { path } : { path, version };
}

/**
 * Parses a folder name for listing: `/` or an absolute path without a version; a trailing `/` is
 * allowed. Returns the folder without its trailing slash (`/` stays `/`).
 */
export function parseDir(name: unknown): string {
  if (typeof name !== 'string') throw new UsageError('a folder name must be a string');
  if (name === '/' || name === '') return '/';
  const dir = name.endsWith('/') ? name.slice(0, -1) : name;
  const problem = pathProblem(dir, `folder "${shorten(name)}"`);
  if (problem) throw new UsageError(problem);
  return dir;
}

/** `path@version`, or `path` when there is no version. */
export function formatName(path: string, version?: number): string {
  return version === undefined ? path : `${path}@${version}`;
}

/**
 * Parses a version as sent in `?last_modified=` or a `Last-Modified` header: an RFC 2822 / HTTP date
 * (filetracker's form) or a plain number of seconds. Fractions are cut off (filetracker's versions are
 * whole seconds).
 */
export function parseVersion(text: unknown, what = 'last_modified'): number {
  if (typeof text !== 'string' || text.trim() === '') throw new UsageError(`${what} is empty`);
  const trimmed = text.trim();
  let seconds: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) seconds = Math.floor(Number(trimmed));
  else {
    const ms = Date.parse(trimmed);
    if (Number.isNaN(ms)) throw new UsageError(`${what} "${shorten(trimmed)}" is neither an RFC 2822 date nor a number of seconds`);
    seconds = Math.floor(ms / 1000);
  }
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_VERSION) throw new UsageError(`${what} "${shorten(trimmed)}" is out of range`);
  return seconds;
}

/** A version as an HTTP date (RFC 7231 IMF-fixdate, which RFC 2822 parsers accept). */
export function httpDate(version: number): string {
  return new Date(version * 1000).toUTCString();
}

/** The current time as a version. */
export function nowVersion(): number {
  return Math.floor(Date.now() / 1000);
}

/** Encodes a name for a URL, one component at a time (`%`, `?`, `#` are escaped; the version's `@` stays readable). */
export function encodePath(path: string): string {
  return path
    .split('/')
    .map((part) => encodeURIComponent(part).replace(/%40/g, '@'))
    .join('/');
}

function shorten(text: string): string {
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return visible.length > 80 ? `${visible.slice(0, 77)}...` : visible;
}
