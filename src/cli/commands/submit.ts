import type { Command } from 'commander';
import type { Environ } from '../../environ/index.js';
import { EXIT, UsageError, parseAssignment, parseEnviron } from '../../environ/index.js';
import type { JobRecord, NodeInfo } from '../../store/index.js';
import type { Service } from '../../service/index.js';
import { readInput, printJson } from '../io.js';
import { isLocal, serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { formatRecord, liveLine } from '../format.js';
import { parseDuration, parseTime } from '../time.js';
import { parseClass, parseRam } from '../../schedule/index.js';
import { emailAddress, poolName } from '../../store/index.js';

interface SubmitOptions extends RemoteFlags {
  cmd?: string;
  cmdType: string;
  jobType?: string;
  environ?: string;
  set: string[];
  user?: string;
  name?: string;
  group?: string;
  tag: string[];
  priority?: string;
  class?: string;
  inputs?: string;
  failFast?: boolean;
  retries?: string;
  delay?: string;
  at?: string;
  ram?: string;
  keep?: string;
  pool?: string;
  after: string[];
  afterAny?: boolean;
  account?: string;
  callback?: string;
  notify?: string;
  notifyNow?: boolean;
  notifyOn?: string;
  block?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  serverOptions(program.command('submit'))
    .description('submit a job: a command (--cmd) or an environ (--job-type, --environ, --set)')
    .option('--cmd <text>', 'code to run: a js function body, or a shell command with --cmd-type system')
    .option('--cmd-type <type>', 'js or system', 'js')
    .option('--job-type <type>', 'the job type of an environ job (ping, system, js, exec, compile, a plugin...)')
    .option('--environ <file>', 'the environ as JSON, from a file or - for standard input')
    .option('--set <key=value>', 'set an environ key; the value is parsed as JSON when it parses (repeatable)', collect, [])
    .option('--user <name>', 'the owner (default: SLUICE_USER, the login name unless root, the host name; on a server: you)')
    .option('--account <name>', "charge fair share to this account, which an admin granted you (default: the owner's own)")
    .option('--callback <url>', 'POST the record to this URL when the job ends (retried; sluice serve sends it)')
    .option('--name <name>', 'a name for the job')
    .option('--group <path>', 'the group path, e.g. alice/analysis-7 (groups are made on demand)')
    .option('--tag <tag>', 'a tag (repeatable)', collect, [])
    .option('--priority <n>', "an integer; higher runs first among the owner's units (default 0)")
    .option('--class <class>', 'nice (idle capacity), normal (default) or urgent (first, charged double)')
    .option('--inputs <file>', 'a map job: one unit per line of JSON values in the file (- for standard input)')
    .option('--fail-fast', 'a map job: abort the other units at the first failure')
    .option('--retries <n>', 'run a failed unit again up to n times, waiting 1 s, 2 s, 4 s, ... between tries')
    .option('--delay <duration>', 'start no sooner than this from now (30s, 5m, 2h)')
    .option('--at <time>', 'start no sooner than this time (ISO 8601, or HH:MM)')
    .option('--ram <size>', 'RAM one unit needs (512M, 2G); default from the environ (exec_mem_limit...)')
    .option('--pool <name>', 'the worker pool that runs it (moi\'s context; default: default): only workers started with --pool NAME take it')
    .option('--after <id>', 'wait for this job to succeed first (repeatable); the job sees its result in environ.after', collect, [])
    .option('--after-any', 'with --after: run once they have all ended, whatever they ended with')
    .option('--notify <address>', "e-mail this address when it ends: in the address's daily digest (SLUICE_DIGEST_AT)")
    .option('--notify-now', 'with --notify: one mail as soon as it ends, not the digest')
    .option('--notify-on <when>', 'with --notify: always (default) or failure')
    .option('--keep <duration>', 'keep the job this long after it ends (a plain number is days; 12h, 7d); default SLUICE_RETENTION')
    .option('--block', 'wait for the job and print its record')
    .option('--json', 'print JSON')
    .action(async (opts: SubmitOptions) => {
      const environ = buildEnviron(opts);
      const priority = opts.priority === undefined ? undefined : parseInteger(opts.priority, '--priority');
      const retries = opts.retries === undefined ? undefined : parseInteger(opts.retries, '--retries');
      if (retries !== undefined && retries < 0) throw new UsageError(`--retries must be 0 or more, got ${retries}`);
      if (opts.delay && opts.at) throw new UsageError('use either --delay or --at, not both');
      const runAfter = opts.delay ? Date.now() + parseDuration(opts.delay, '--delay') : opts.at ? parseTime(opts.at, '--at') : undefined;
      if (opts.inputs === '-' && opts.environ === '-') throw new UsageError('--inputs and --environ cannot both read standard input');
      const inputs = opts.inputs === undefined ? undefined : parseInputs(readInput(opts.inputs, 'inputs file'), opts.inputs);
      if (opts.failFast && !inputs) throw new UsageError('--fail-fast is for map jobs (with --inputs)');
      if (opts.afterAny && !opts.after.length) throw new UsageError('--after-any goes with --after');
      if ((opts.notifyNow || opts.notifyOn) && !opts.notify) throw new UsageError('--notify-now and --notify-on go with --notify ADDRESS');
      if (opts.notifyOn && opts.notifyOn !== 'always' && opts.notifyOn !== 'failure') throw new UsageError(`--notify-on must be always or failure, got "${opts.notifyOn}"`);
      const keepMs = opts.keep === undefined ? undefined : parseDuration(opts.keep, '--keep', 'd');
      await withSluice(opts, async (service) => {
        const [id] = await service.submit([
          {
            environ,
            ...(opts.user ? { owner: opts.user } : {}),
            ...(opts.account ? { account: opts.account } : {}),
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.group ? { group: opts.group } : {}),
            ...(opts.tag.length ? { tags: opts.tag } : {}),
            ...(priority === undefined ? {} : { priority }),
            ...(opts.class ? { class: parseClass(opts.class) } : {}),
            ...(inputs ? { inputs } : {}),
            ...(opts.failFast ? { failFast: true } : {}),
            ...(retries === undefined ? {} : { retries }),
            ...(runAfter === undefined ? {} : { runAfter }),
            ...(opts.ram ? { ramMb: parseRam(opts.ram) } : {}),
            ...(keepMs === undefined ? {} : { keepMs }),
            ...(opts.pool ? { pool: poolName(opts.pool) } : {}),
            ...(opts.after.length ? { after: opts.after } : {}),
            ...(opts.afterAny ? { afterAny: true } : {}),
            ...(opts.callback ? { callbackUrl: callbackUrl(opts.callback) } : {}),
            ...(opts.notify ? { notify: { address: emailAddress(opts.notify), now: Boolean(opts.notifyNow), onlyFailures: opts.notifyOn === 'failure' } } : {}),
          },
        ]);
        // moi's line on a terminal; the bare id for scripts.
        if (opts.json && !opts.block) printJson({ id });
        else if (!opts.json) process.stdout.write(process.stdout.isTTY ? `Submitted job id: ${id}\n` : `${id}\n`);
        await sayIfUnplaceable(service, id!);
        if (!opts.block) return;
        const record = await blockOn(service, id!);
        if (opts.json) printJson(record);
        else process.stdout.write(formatRecord(record));
        process.exitCode = record.status === 'Success' ? EXIT.OK : EXIT.JOB_FAILED;
      }, { write: true });
    });
}

/** A job that no live worker could ever take is said so at once, not after seconds of "waiting for a slot". */
async function sayIfUnplaceable(service: Service, id: string): Promise<void> {
  const reason = (await service.waitReasons([await service.get(id)])).get(id);
  if (reason?.startsWith('cannot run yet')) process.stderr.write(`sluice: job ${id} ${reason}\n`);
}

/** A callback must be an http(s) URL: said at submit, not when the job ends. */
function callbackUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--callback must be an http:// or https:// URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--callback must be an http:// or https:// URL, got "${text}"`);
  return url.href;
}

function buildEnviron(opts: SubmitOptions): Environ {
  if (opts.cmd !== undefined && (opts.jobType || opts.environ)) {
    throw new UsageError('use either --cmd (with --cmd-type) or --job-type/--environ, not both');
  }
  let environ: Environ;
  if (opts.cmd !== undefined) {
    if (opts.cmdType !== 'js' && opts.cmdType !== 'system') throw new UsageError(`--cmd-type must be js or system, got "${opts.cmdType}"`);
    environ = { job_type: opts.cmdType, cmd: opts.cmd };
  } else if (opts.jobType || opts.environ) {
    environ = opts.environ ? parseEnviron(readInput(opts.environ, 'environ file'), `environ file "${opts.environ}"`) : {};
    if (opts.jobType) environ.job_type = opts.jobType;
    if (!environ.job_type) throw new UsageError('the environ has no job_type; give one with --job-type');
  } else {
    throw new UsageError('submit needs --cmd, or --job-type and/or --environ');
  }
  for (const assignment of opts.set) {
    const [key, value] = parseAssignment(assignment);
    environ[key] = value;
  }
  return environ;
}

/** JSON lines: one value per non-empty line; a bad line is named by its number. */
function parseInputs(text: string, file: string): unknown[] {
  const values: unknown[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      values.push(JSON.parse(line));
    } catch (err) {
      throw new UsageError(`inputs file "${file}", line ${i + 1}: not JSON (${(err as Error).message})`);
    }
  });
  if (!values.length) throw new UsageError(`inputs file "${file}" has no inputs`);
  return values;
}

function parseInteger(text: string, option: string): number {
  const n = Number(text);
  if (!Number.isInteger(n)) throw new UsageError(`${option} must be an integer, got "${text}"`);
  return n;
}

/**
 * Waits for the job, showing its status: a live line on a terminal, plain lines otherwise. With no
 * worker alive on this machine's store the job runs here, so a first-time user needs nothing else
 * running; Ctrl-C then aborts it and exits 130 once its processes are gone (a second Ctrl-C exits
 * at once). While a worker runs it (or a server's), Ctrl-C only stops the waiting.
 */
async function blockOn(service: Service, id: string): Promise<JobRecord> {
  const here = !isLocal(service) || (await service.workersAlive()) ? null : service.runHere(id);
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let latest: NodeInfo | undefined;
  const ticker = tty ? setInterval(() => latest && process.stderr.write(`\r\x1b[K${liveLine(latest, started)}`), 100) : undefined;
  let interrupted: Promise<never> | undefined;
  // How long an interrupted in-process run may take to kill its processes before we exit anyway.
  const INTERRUPT_WAIT_MS = 10_000;
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    if (tty) process.stderr.write('\n');
    process.stderr.write(here ? `sluice: interrupted; aborting job ${id}\n` : `sluice: stopped waiting; the job goes on (sluice wait ${id})\n`);
    interrupted = (async () => {
      if (here) {
        await service.abort(id).catch(() => {});
        // The in-process run ends when its processes are dead: only then does Aborted hold.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([here.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, INTERRUPT_WAIT_MS)))]);
        clearTimeout(timer);
      }
      process.exit(130);
    })();
  };
  process.on('SIGINT', onInterrupt);
  try {
    const record = await service.wait(id, {
      onChange: (info) => {
        latest = info;
        if (!tty) process.stderr.write(`job ${id}: ${info.status}${info.progress ? ` ${info.progress.done}/${info.progress.total}` : ''}${info.status_text ? ` ${info.status_text}` : ''}\n`);
      },
    });
    await here;
    // Interrupted meanwhile: the interrupt's own ending (exit 130) wins over printing the record.
    if (interrupted) await interrupted;
    return record;
  } finally {
    clearInterval(ticker);
    if (tty) process.stderr.write('\r\x1b[K');
    process.off('SIGINT', onInterrupt);
  }
}
