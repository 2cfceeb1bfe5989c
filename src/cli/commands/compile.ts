import type { Command } from 'commander';
import { EXIT, run, SluiceError } from '../../environ/index.js';
import { builtinRegistry } from '../../jobs/index.js';
import { helperServer } from '../../sandbox/index.js';
import { printJson } from '../io.js';

/**
 * `sluice compile SRC OUT [LANG]` (sio-compile): compiles a local source file in the sandbox.
 * LANG is a language (`c`, `cpp`, `pas`) or a compiler name; without it the extension decides.
 * The compiler's messages go to stderr; exit 0 on OK, 1 on a compilation error, 2 when it cannot be
 * compiled here (an unknown compiler, a toolchain that is not installed).
 */
export function register(program: Command): void {
  program
    .command('compile')
    .argument('<source>', 'the source file')
    .argument('<output>', 'where the compiled program goes')
    .argument('[language]', 'c, cpp, pas, java, py, or a compiler name (default: from the extension)')
    .option('--json', 'print the resulting environ')
    .description('compile a source file in the sandbox (sio-compile)')
    .action(async (source: string, output: string, language: string | undefined, opts: { json?: boolean }) => {
      const environ = {
        job_type: 'compile',
        source_file: source,
        out_file: output,
        use_filetracker: false,
        ...(language ? { compiler: language } : {}),
      };
      const out = await run(environ, { registry: builtinRegistry() });
      helperServer.close();
      if (opts.json) printJson(out);
      if (out.result === 'FAILURE') {
        const exception = String(out.exception ?? 'compilation failed').replace(/^\w*Error: /, '');
        throw new SluiceError(exception, /UsageError/.test(String(out.exception)) ? EXIT.USAGE : EXIT.INTERNAL);
      }
      // SE: the source cannot be compiled here (an unknown compiler, a toolchain not installed), or the sandbox failed.
      if (out.result_code === 'SE') throw new SluiceError(String(out.result_string), /^the compiler could not run/.test(String(out.result_string)) ? EXIT.INTERNAL : EXIT.USAGE);
      if (!opts.json && out.compiler_output) process.stderr.write(`${String(out.compiler_output).replace(/\n?$/, '\n')}`);
      if (out.result_code !== 'OK') {
        if (!opts.json) process.stderr.write('sluice: compilation failed (CE)\n');
        process.exitCode = EXIT.JOB_FAILED;
      }
    });
}
