import { DEFAULT_SANDBOX, type SandboxConfig } from '../environ/index.js';

/**
 * The sandbox's settings for this process (environ/config.ts reads them from the environment once;
 * the composition root, `Root`, hands them over here). Until then, and in a process that never
 * configures it (a library user calling `run()`), the defaults hold. The probe (`capabilities()`)
 * is redone after a change.
 */
let current: Readonly<SandboxConfig> = DEFAULT_SANDBOX;

/** Sets the settings given (the others keep their current values). */
export function configureSandbox(settings: Partial<SandboxConfig>): void {
  current = Object.freeze({ ...current, ...settings });
}

/** The settings in force (a new object after each `configureSandbox`, so a cache can tell). */
export function sandboxSettings(): Readonly<SandboxConfig> {
  return current;
}
