import { execFileSync } from 'node:child_process';

/**
 * Tests that need a system program call this at the top of their file. Without the program the test
 * fails with the Debian package to install; it is never skipped silently (CI installs everything).
 */
export function requireProgram(program: string, debianPackage: string): string {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`this test needs "${program}": install it with apt-get install ${debianPackage}`);
  }
}
