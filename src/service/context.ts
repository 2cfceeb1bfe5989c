import { AsyncLocalStorage } from 'node:async_hooks';
import type { Service } from './types.js';

/**
 * PARK's default-service stack: code runs a block "with" a service, and calls that name no service
 * use the innermost one (AsyncLocalStorage follows the block through every await). Outside any
 * block the base is used, made on first need by the factory the package entry sets (from the
 * configuration: SLUICE_URL names a server, else the local store).
 */
const stack = new AsyncLocalStorage<Service>();
let factory: (() => Promise<Service>) | undefined;
let base: Promise<Service> | undefined;

/** Runs `fn` with `service` as the default; blocks nest, the innermost wins. */
export function withService<T>(service: Service, fn: () => T): T {
  return stack.run(service, fn);
}

/** The innermost service of the running block, else the base. */
export function currentService(): Promise<Service> {
  const inner = stack.getStore();
  if (inner) return Promise.resolve(inner);
  if (!factory) throw new Error('no default service: run the code inside withService(service, ...)');
  return (base ??= factory());
}

/** How the base service is made (the package entry's choice), and forgetting a base already made. */
export function setBaseService(make: () => Promise<Service>): void {
  factory = make;
  base = undefined;
}

/** Closes the base service if one was made (a program ends cleanly). */
export async function closeBaseService(): Promise<void> {
  const made = base;
  base = undefined;
  if (made) await (await made).close();
}
