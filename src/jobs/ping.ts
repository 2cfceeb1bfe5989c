import type { Environ } from '../environ/index.js';

/** `ping`: answers `pong` with the value of `ping` (sioworkers' health check). */
export function ping(environ: Environ): Environ {
  environ.pong = environ.ping;
  return environ;
}
