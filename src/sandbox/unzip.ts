import { inflateRawSync } from 'node:zlib';

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
/** A test input larger than this is not unpacked in memory (a corrupt or hostile header). */
const MAX_MEMBER = 1 << 30;

export function isZip(data: Buffer): boolean {
  return data.length >= 4 && data.readUInt32LE(0) === LOCAL;
}

/**
 * The one member of a zip archive (sioworkers unpacks an `in_file` that is a zip with exactly one
 * member). Stored and deflated members are supported; anything else is an error naming the reason.
 */
export function onlyMember(data: Buffer, what = 'zip'): Buffer {
  let end = -1;
  for (let i = data.length - 22; i >= Math.max(0, data.length - 22 - 0xffff); i--) {
    if (data.readUInt32LE(i) === END) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error(`${what} is not a valid zip archive (no end of central directory)`);
  const count = data.readUInt16LE(end + 10);
  if (count !== 1) throw new Error(`${what} is a zip with ${count} members; expected exactly one`);
  const central = data.readUInt32LE(end + 16);
  if (central + 46 > data.length || data.readUInt32LE(central) !== CENTRAL) throw new Error(`${what}: bad central directory`);
  const method = data.readUInt16LE(central + 10);
  const compressed = data.readUInt32LE(central + 20);
  const size = data.readUInt32LE(central + 24);
  const local = data.readUInt32LE(central + 42);
  if (local + 30 > data.length || data.readUInt32LE(local) !== LOCAL) throw new Error(`${what}: bad local header`);
  const start = local + 30 + data.readUInt16LE(local + 26) + data.readUInt16LE(local + 28);
  const body = data.subarray(start, start + compressed);
  if (body.length !== compressed) throw new Error(`${what}: truncated member`);
  if (size > MAX_MEMBER) throw new Error(`${what}: its member is ${size} bytes; at most ${MAX_MEMBER} are unpacked`);
  let out: Buffer;
  if (method === 0) out = Buffer.from(body);
  else if (method === 8) out = inflateRawSync(body, { maxOutputLength: Math.max(size, 1) });
  else throw new Error(`${what}: compression method ${method} is not supported (only stored and deflate)`);
  if (out.length !== size) throw new Error(`${what}: member size does not match its header`);
  return out;
}
