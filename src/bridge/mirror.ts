import type { ChainableCommander, Redis } from 'ioredis';
import type { NodeInfo } from '../store/index.js';
import { childrenKey, moiInfo, NODES_KEY, pubsubKey, REMOVED_TTL_S, SEQ_KEY, USER_ID_MAP } from './moi.js';

/** Nodes written per transaction: a snapshot of many nodes goes in pieces, the last one with the sequence number. */
const CHUNK = 1000;

export interface MirrorCount {
  added: number;
  updated: number;
  removed: number;
}

/**
 * Mirrors changed nodes and moves the bridge's place to `seq`, in one MULTI/EXEC: the writes, the
 * announcements and the new place happen together or not at all, so a bridge restarted after a
 * crash redoes exactly what did not happen. A node whose JSON is unchanged is neither written nor
 * announced (a change seen twice, as a stream may send one across its current-state header, is
 * announced once).
 */
export async function mirrorChanges(redis: Redis, infos: NodeInfo[], seq: number): Promise<MirrorCount> {
  const count = { added: 0, updated: 0, removed: 0 };
  const latest = [...new Map(infos.map((i) => [i.id, i])).values()];
  for (let i = 0; i < latest.length || i === 0; i += CHUNK) {
    const chunk = latest.slice(i, i + CHUNK);
    const last = i + CHUNK >= latest.length;
    const tx = redis.multi();
    add(count, await write(redis, tx, chunk));
    if (last) tx.set(SEQ_KEY, String(seq));
    await exec(tx);
  }
  return count;
}

/**
 * Mirrors the current state (a stream's header): every node as `mirrorChanges` does, then the
 * nodes the mirror holds that are no longer there (pruned) are taken out of their parents'
 * children sets and announced with `remove` on the parents' channels; their info stays readable
 * for REMOVED_TTL_S.
 */
export async function mirrorSnapshot(redis: Redis, infos: NodeInfo[], seq: number): Promise<MirrorCount> {
  const count = { added: 0, updated: 0, removed: 0 };
  for (let i = 0; i < infos.length; i += CHUNK) {
    const tx = redis.multi();
    add(count, await write(redis, tx, infos.slice(i, i + CHUNK)));
    await exec(tx);
  }
  const present = new Set(infos.map((i) => i.id));
  const mirrored = await redis.hgetall(NODES_KEY);
  const gone = Object.entries(mirrored).filter(([id]) => !present.has(id));
  const tx = redis.multi();
  const removals = new Map<string, string[]>();
  for (const [id, parent] of gone) {
    tx.hdel(NODES_KEY, id).expire(id, REMOVED_TTL_S);
    if (parent) {
      tx.srem(childrenKey(parent), id);
      removals.set(parent, [...(removals.get(parent) ?? []), id]);
    } else {
      const owner = await redis.hget(USER_ID_MAP, id);
      tx.hdel(USER_ID_MAP, id);
      if (owner !== null && (await redis.hget(USER_ID_MAP, owner)) === id) tx.hdel(USER_ID_MAP, owner);
    }
  }
  for (const [parent, ids] of removals) announce(tx, pubsubKey(parent), 'remove', ids);
  tx.set(SEQ_KEY, String(seq));
  await exec(tx);
  count.removed = gone.length;
  return count;
}

/** The bridge's place in the event stream, or null when it has none (a fresh Redis, or one that lost its data). */
export async function mirroredThrough(redis: Redis): Promise<number | null> {
  const text = await redis.get(SEQ_KEY);
  const seq = text === null ? NaN : Number(text);
  return Number.isInteger(seq) && seq >= 0 ? seq : null;
}

/** Queues on `tx` the writes and announcements for `infos` whose JSON differs from what Redis holds. */
async function write(redis: Redis, tx: ChainableCommander, infos: NodeInfo[]): Promise<MirrorCount> {
  const count = { added: 0, updated: 0, removed: 0 };
  if (!infos.length) return count;
  const before = await redis.mget(infos.map((i) => i.id));
  const adds = new Map<string, string[]>();
  const updates: string[] = [];
  infos.forEach((info, n) => {
    const json = moiInfo(info);
    const old = before[n];
    if (old === json) return;
    // SET without a TTL also takes back the expiry of a node removed and come back.
    tx.set(info.id, json).hset(NODES_KEY, info.id, info.parent ?? '');
    if (info.parent) tx.sadd(childrenKey(info.parent), info.id);
    else if (info.type === 'group') tx.hset(USER_ID_MAP, info.owner, info.id, info.id, info.owner);
    if (old === null || old === undefined) {
      count.added++;
      if (info.parent) adds.set(info.parent, [...(adds.get(info.parent) ?? []), info.id]);
    } else {
      count.updated++;
      updates.push(info.id);
    }
  });
  // Announced after every write of the batch: a consumer that reads on an `add` finds the node's children too.
  for (const [parent, ids] of adds) announce(tx, pubsubKey(parent), 'add', ids);
  for (const id of updates) announce(tx, pubsubKey(id), 'update', [id]);
  return count;
}

function announce(tx: ChainableCommander, channel: string, verb: 'add' | 'update' | 'remove', ids: string[]): void {
  for (let i = 0; i < ids.length; i += CHUNK) tx.publish(channel, JSON.stringify({ [verb]: ids.slice(i, i + CHUNK) }));
}

/** EXEC, failing as a whole when any queued command failed (ioredis reports those per command). */
async function exec(tx: ChainableCommander): Promise<void> {
  const results = await tx.exec();
  if (results === null) throw new Error('the Redis transaction was aborted');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0]!;
}

function add(into: MirrorCount, more: MirrorCount): void {
  into.added += more.added;
  into.updated += more.updated;
}
