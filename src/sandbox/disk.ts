import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { DiskConfig, RunConfig } from './args.js';
import { runHelperOnce, servedHelper } from './helper.js';

/**
 * Each sandboxed run's box and /tmp live on a file system of their own (docs/sandbox.md, "Disk"):
 * a copy of an empty ext4 template, loop-mounted by the served helper under diskHome() (the run
 * folder's `disk` symlink leads there), released as a whole afterwards. Its size only sets how much
 * may be staged in the box before the run; what the program may add is cut to its limit by the
 * helper (a ballast file), so a run can never fill the host's disk, and nothing it leaves there
 * survives the release.
 */

/** What a program may write beyond its limit before ENOSPC (DISK_MARGIN in sluice-run.c). */
const DISK_MARGIN = 1 << 20;
const SMALLEST = 512 * 1024 * 1024;

const run = promisify(execFile);

/** Where templates are kept (and each run's image for the moment before the loop device holds it). */
export function diskHome(tmpdir: string | undefined): string {
  return path.join(tmpdir || os.tmpdir(), 'sluice-disks');
}

/** Room on a run's disk for what is staged in the box before the run (the program, extra files) beyond what the caller declares. */
const STAGING_ROOM = 64 * 1024 * 1024;

/**
 * The file system's size: the program's share, what the caller knows it will stage, and room for
 * more, in powers of two so that few templates exist. Space never written costs the host nothing
 * (the image is sparse); a larger size only makes the helper's ballast slower (~0.2 ms per GiB).
 */
export function diskSize(limitBytes: number, reserveBytes = 0): number {
  let size = SMALLEST;
  while (size < limitBytes + DISK_MARGIN + reserveBytes + STAGING_ROOM) size *= 2;
  return size;
}

const templates = new Map<string, Promise<string>>();

/** An empty ext4 image of `bytes` (a few hundred KiB of data), made once per size and machine. */
export function diskTemplate(config: DiskConfig, bytes: number): Promise<string> {
  const file = path.join(config.home, `ext4-${bytes}.img`);
  let pending = templates.get(file);
  if (!pending) {
    pending = makeTemplate(config, file, bytes);
    pending.catch(() => templates.delete(file));
    templates.set(file, pending);
  }
  return pending;
}

async function makeTemplate(config: DiskConfig, file: string, bytes: number): Promise<string> {
  // 0711: the sandbox's uid reaches the disks mounted here, without listing them; templates are 0600.
  mkdirSync(config.home, { recursive: true });
  chmodSync(config.home, 0o711);
  if (existsSync(file)) return file;
  const partial = `${file}.${process.pid}.tmp`;
  const handle = await open(partial, 'w', 0o600);
  await handle.truncate(bytes);
  await handle.close();
  try {
    // No journal (nothing to recover: the disk dies with its run), inodes initialised lazily (the
    // image stays sparse), nothing reserved for root, 4 KiB blocks, one inode per 16 KiB.
    await run(config.mke2fs, ['-q', '-F', '-t', 'ext4', '-b', '4096', '-i', '16384', '-m', '0', '-O', '^has_journal,^resize_inode', '-E', 'nodiscard,lazy_itable_init=1,root_owner=0:0', partial]);
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`cannot make a disk template with ${config.mke2fs}: ${(e.stderr || e.message).trim()}`);
  }
  return file;
}

/**
 * A fresh file system of `bytes`, mounted by the served helper (which keeps one ready: the request
 * costs a round trip), with `box/` and `tmp/` owned by `owner`; returns where it is mounted.
 */
export async function takeDisk(bytes: number, owner: number, config: RunConfig): Promise<string> {
  if (!config.disk) throw new Error('internal: no disk configuration');
  const template = await diskTemplate(config.disk, bytes);
  const server = servedHelper(config);
  const reply = (await server.run(['--disk-take', template, String(owner)], { watchdogMs: 15_000 })) as { error?: string; disk?: string };
  if (reply.error || !reply.disk) throw new Error(`cannot make the run's disk: ${reply.error ?? 'no answer'}`);
  const mounted = path.join(config.disk.home, reply.disk);
  inUse.add(mounted);
  if (server.pid !== lastServer) {
    if (lastServer !== undefined) await releaseOrphans(config.disk.home, config);
    lastServer = server.pid;
  }
  return mounted;
}

/** Unmounts a run's disk: answered at once; the space comes back once the sandbox's namespace is gone. */
export async function releaseDisk(mountpoint: string, config: RunConfig): Promise<void> {
  inUse.delete(mountpoint);
  const reply = await servedHelper(config).run(['--disk-detach', mountpoint], { watchdogMs: 15_000 });
  if (reply.error) throw new Error(`cannot release the run's disk: ${reply.error}`);
}

/** Disks this process holds, and the served helper that made the last one. */
const inUse = new Set<string>();
let lastServer: number | undefined;

/**
 * A served helper that was killed leaves the disk it kept ready mounted. When a new one answers,
 * this process's disks from dead servers that no run holds are released.
 */
async function releaseOrphans(home: string, config: RunConfig): Promise<void> {
  for (const name of readdirSync(home)) {
    const server = new RegExp(`^disk-${process.pid}-(\\d+)\\.`).exec(name)?.[1];
    const mountpoint = path.join(home, name);
    if (server && !existsSync(`/proc/${server}`) && !inUse.has(mountpoint)) await releaseDisk(mountpoint, config);
  }
}

/** Unmounts the disks of processes that died with them (staleDisks), through a helper of its own. */
export async function sweepDisks(home: string): Promise<void> {
  const stale = staleDisks(home);
  if (stale.length) await runHelperOnce(['--disk-detach', ...stale], { watchdogMs: 15_000 + 10 * stale.length });
}

/**
 * Disks whose process died before releasing them (killed): the mount points of loop devices backed
 * by one of our images (`run-PID-SERVER.N.img`, deleted) whose PID is gone. Leftover image files
 * and empty mount folders of such processes are removed on the way.
 */
function staleDisks(home: string): string[] {
  const dead = (pid: string) => !existsSync(`/proc/${pid}`);
  const ownerOf = (file: string) => (file.startsWith(`${home}/`) ? /^(?:run|disk)-(\d+)-/.exec(file.slice(home.length + 1))?.[1] : undefined);
  const stale: string[] = [];
  let mounts = '';
  try {
    mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return stale;
  }
  for (const line of mounts.split('\n')) {
    const source = / - ext4 \/dev\/(loop\d+) /.exec(line)?.[1];
    if (!source) continue;
    let backing = '';
    try {
      backing = readFileSync(`/sys/block/${source}/loop/backing_file`, 'utf8');
    } catch {
      continue;
    }
    const pid = ownerOf(backing);
    if (pid && dead(pid)) stale.push((line.split(' ')[4] ?? '').replace(/\\040/g, ' '));
  }
  const mounted = new Set(stale);
  try {
    for (const name of readdirSync(home)) {
      const file = path.join(home, name);
      const pid = ownerOf(file);
      if (!pid || !dead(pid) || mounted.has(file)) continue;
      if (name.startsWith('run-')) rmSync(file, { force: true });
      else rmdirSafe(file);
    }
  } catch {
    // no home yet
  }
  return stale.filter(Boolean);
}

function rmdirSafe(dir: string): void {
  try {
    rmdirSync(dir); // only if empty: never into a file system still mounted there
  } catch {
    // in use, or not empty
  }
}
