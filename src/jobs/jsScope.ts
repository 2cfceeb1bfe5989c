/**
 * What a reused `js` child puts back between two jobs of its owner, so that each job starts from a
 * clean global scope: the global object's own properties (added ones deleted, changed or deleted
 * ones restored), `process.env`, the umask and `process.exitCode`. What cannot be put back cheaply
 * makes the child unfit for reuse (the pool then starts a fresh one): a global that cannot be
 * deleted, a property added to a built-in constructor or prototype, a `process` listener, or
 * anything still pending (a timer, a socket, a child process). Measured: about 0.05 ms per job.
 */

const IGNORED_RESOURCES = new Set(['SimpleWriteWrap', 'WriteWrap', 'ShutdownWrap']);
const BUILT_INS = [Object, Function, Array, String, Number, Boolean, Symbol, BigInt, Promise, RegExp, Date, Map, Set, WeakMap, WeakSet, Error, TypeError, ArrayBuffer, Uint8Array];

type Descriptors = { [key: PropertyKey]: PropertyDescriptor };

export interface Scope {
  /** Puts the scope back as it was when the snapshot was taken; false when the child must not be reused. */
  reset(): boolean;
}

/** Takes the snapshot that every later job is reset to; call it before the first job. */
export function snapshotScope(): Scope {
  // Created on first use: made now, they are part of the baseline instead of a leftover of the first job that logs.
  void process.stdout;
  void process.stderr;
  const globals = Object.getOwnPropertyDescriptors(globalThis) as Descriptors;
  const env = { ...process.env };
  const umask = process.umask();
  const builtInKeys = builtInObjects().map((o) => Reflect.ownKeys(o).length);
  const listeners = listenerCounts();
  const resources = resourceCounts();

  return {
    reset(): boolean {
      let reusable = resetGlobals(globals);
      resetEnv(env);
      process.umask(umask);
      process.exitCode = undefined;
      if (builtInObjects().some((o, i) => Reflect.ownKeys(o).length !== builtInKeys[i])) reusable = false;
      if (!listenersKept(listeners)) reusable = false;
      if (grew(resourceCounts(), resources)) reusable = false;
      return reusable;
    },
  };
}

function resetGlobals(pristine: Descriptors): boolean {
  let reusable = true;
  for (const key of Reflect.ownKeys(globalThis)) {
    const before = pristine[key];
    if (before && sameDescriptor(before, Object.getOwnPropertyDescriptor(globalThis, key)!)) continue;
    if (!Reflect.deleteProperty(globalThis, key)) {
      reusable = false;
      continue;
    }
    if (before) Object.defineProperty(globalThis, key, before);
  }
  for (const key of Reflect.ownKeys(pristine)) {
    if (!Object.prototype.hasOwnProperty.call(globalThis, key)) Object.defineProperty(globalThis, key, pristine[key]!);
  }
  return reusable;
}

function sameDescriptor(a: PropertyDescriptor, b: PropertyDescriptor): boolean {
  return Object.is(a.value, b.value) && a.get === b.get && a.set === b.set && a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable;
}

function resetEnv(pristine: NodeJS.ProcessEnv): void {
  for (const key of Object.keys(process.env)) if (!(key in pristine)) delete process.env[key];
  for (const [key, value] of Object.entries(pristine)) if (process.env[key] !== value) process.env[key] = value;
}

function builtInObjects(): object[] {
  return BUILT_INS.flatMap((ctor) => [ctor, ctor.prototype as object]);
}

function listenerCounts(): Map<string, number> {
  return new Map(process.eventNames().map((name) => [String(name), process.listenerCount(name)]));
}

/** No `process` listener added, and the child's own (the IPC ones) still there; Node drops some of its own. */
function listenersKept(baseline: Map<string, number>): boolean {
  const now = listenerCounts();
  return !grew(now, baseline) && ['message', 'disconnect'].every((name) => now.get(name) === baseline.get(name));
}

/** Handles and requests by type (timers, sockets, child processes...), without our own IPC writes. */
function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) if (!IGNORED_RESOURCES.has(type)) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Whether some count is higher than at the snapshot (transient ones of Node's own may have gone since). */
function grew(now: Map<string, number>, baseline: Map<string, number>): boolean {
  for (const [key, n] of now) if (n > (baseline.get(key) ?? 0)) return true;
  return false;
}
