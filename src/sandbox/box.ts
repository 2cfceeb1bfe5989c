import { constants, createWriteStream } from 'node:fs';
import { chown, mkdir, mkdtemp, open, symlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RunConfig } from './args.js';
import { diskSize, releaseDisk, takeDisk } from './disk.js';

export interface RunDirOptions {
  /** The uid the sandbox runs as: the box (and its /tmp) belong to it. */
  owner?: number;
  /**
   * Put the box and /tmp on a file system of their own (disk.ts): the program may add `limitBytes`;
   * `reserveBytes` is room for what is staged in the box before the run, beyond the usual.
   */
  disk?: { limitBytes: number; reserveBytes?: number; config: RunConfig };
}

/**
 * One run's folder inside the job's tmpdir: `box/` is what the program sees as /box (its only
 * writable place with /tmp); files the host keeps for itself (stdin, stdout, stderr) live next to
 * it, out of the program's reach. Every run gets a fresh folder, so a symlink a program plants can
 * only point the host at files it wrote before that run; and the host reads box files only through
 * `readBoxFile`, which refuses symlinks, FIFOs and devices. With a disk, `disk` is a symlink (made
 * by the host, in a folder the program cannot write) to where the helper mounted it, the box is
 * `disk/box`, and `dispose()` releases the disk, and with it everything the program left.
 */
export class RunDir {
  private released = false;

  private constructor(
    readonly dir: string,
    readonly box: string,
    /** Where the run's own file system (box/ and tmp/ inside) is mounted, when it has one. */
    readonly disk: string | undefined,
    private readonly config?: RunConfig,
  ) {}

  /** Makes `<parent>/<name>-XXXXXX/` with `box/` in it, or with `disk/` leading to the run's disk. */
  static async create(parent: string, name: string, options: RunDirOptions = {}): Promise<RunDir> {
    const dir = await mkdtemp(path.join(parent, `${name}-`));
    const { owner, disk } = options;
    if (disk) {
      const mounted = await takeDisk(diskSize(disk.limitBytes, disk.reserveBytes), owner ?? process.getuid?.() ?? 0, disk.config);
      const run = new RunDir(dir, path.join(dir, 'disk', 'box'), mounted, disk.config);
      await symlink(mounted, path.join(dir, 'disk')).catch(async (err: unknown) => {
        await run.dispose();
        throw err;
      });
      return run;
    }
    const box = path.join(dir, 'box');
    await mkdir(box, { mode: 0o700 });
    if (owner !== undefined) await chown(box, owner, owner);
    return new RunDir(dir, box, undefined);
  }

  /** A host-side file of this run (not visible to the program). */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** A file in the box. */
  boxFile(name: string): string {
    const target = path.join(this.box, name);
    if (path.dirname(target) !== this.box) throw new Error(`not a plain file name for the box: ${JSON.stringify(name)}`);
    return target;
  }

  /** Releases the disk, if any (once; the box's files are gone after it). The folder stays for the job's removal. */
  async dispose(): Promise<void> {
    if (!this.disk || !this.config || this.released) return;
    this.released = true;
    await releaseDisk(this.disk, this.config);
  }
}

/** Thrown when a file the host wants to read is not a regular file (a planted symlink, a FIFO...). */
export class UnsafeFileError extends Error {}

/**
 * Opens a file a program may have planted for reading, without following a symlink or blocking on
 * a FIFO; undefined when it does not exist; UnsafeFileError when it is not a regular file.
 */
async function openRegular(file: string): Promise<{ handle: FileHandle; size: number } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new UnsafeFileError(`${path.basename(file)} is a symbolic link`);
    throw err;
  }
  const st = await handle.stat().catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  if (!st.isFile()) {
    await handle.close();
    throw new UnsafeFileError(`${path.basename(file)} is not a regular file`);
  }
  return { handle, size: st.size };
}

/** Reads `want` bytes of an open file from `at` (fewer when it ends sooner). */
async function readAt(handle: FileHandle, want: number, at: number): Promise<Buffer> {
  const data = Buffer.alloc(want);
  let got = 0;
  while (got < want) {
    const { bytesRead } = await handle.read(data, got, want - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return data.subarray(0, got);
}

/**
 * Reads at most `maxBytes` of a regular file without following a symlink or blocking on a FIFO.
 * Returns undefined when the file does not exist; `size` is the whole file's size.
 */
export async function readBoxFile(file: string, maxBytes: number): Promise<{ data: Buffer; size: number } | undefined> {
  const opened = await openRegular(file);
  if (!opened) return undefined;
  try {
    return { data: await readAt(opened.handle, Math.min(opened.size, maxBytes), 0), size: opened.size };
  } finally {
    await opened.handle.close();
  }
}

/** The last `maxBytes` of a regular file as text (lossy UTF-8), or '' when it is absent; refuses what readBoxFile refuses. */
export async function readBoxTail(file: string, maxBytes: number): Promise<string> {
  const opened = await openRegular(file);
  if (!opened) return '';
  try {
    const want = Math.min(opened.size, maxBytes);
    return (await readAt(opened.handle, want, opened.size - want)).toString('utf8');
  } finally {
    await opened.handle.close();
  }
}

/**
 * Copies a file a program made in its box to `dest` on the host, with readBoxFile's care (no
 * symlink followed, no FIFO opened, regular files only); returns false when it is not such a file.
 */
export async function copyBoxFile(file: string, dest: string): Promise<boolean> {
  const opened = await openRegular(file).catch(() => undefined);
  if (!opened) return false;
  try {
    await pipeline(opened.handle.createReadStream({ autoClose: false }), createWriteStream(dest, { mode: 0o600 }));
    return true;
  } finally {
    await opened.handle.close();
  }
}
