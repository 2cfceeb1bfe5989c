import type { NodeInfo } from '../store/index.js';

/**
 * moi's Redis layout (as qiita reads it): each node's info object as JSON under its id, a group's
 * children in the set `<id>:children`, changes announced on `<id>:pubsub` (`{"update": [ids]}`)
 * and on the parent's channel (`{"add": [ids]}`, `{"remove": [ids]}`), users in the two-way hash
 * `user-id-map` (name → root group id, and back).
 */
export const USER_ID_MAP = 'user-id-map';
/** Where the bridge keeps its place: the last sequence number it mirrored. */
export const SEQ_KEY = 'sluice:bridge:seq';
/** id → parent id ('' for a root) of every node mirrored: what a resync compares with, to find what is gone. */
export const NODES_KEY = 'sluice:bridge:nodes';
/**
 * How long a removed node's info stays readable (s): moi's Group reads the info of a node it is told
 * to remove (to find its parent), so deleting it at once would break a consumer handling the message.
 */
export const REMOVED_TTL_S = 3600;

export const childrenKey = (id: string) => `${id}:children`;
export const pubsubKey = (id: string) => `${id}:pubsub`;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * A node's info as moi's consumers read it: moi's fields first (`id, name, type, parent, owner,
 * status, result, date_*, url, context, pubsub`), then Sluice's. Always the same order, so that
 * the JSON text of an unchanged node is the same text (the bridge compares texts). Times are UTC
 * ISO-8601, as everywhere in Sluice's JSON.
 */
export function moiInfo(info: NodeInfo): string {
  return JSON.stringify({
    id: info.id,
    name: info.name,
    type: info.type,
    parent: info.parent,
    owner: info.owner,
    status: info.status,
    result: info.result ?? null,
    date_created: iso(info.date_created),
    date_start: iso(info.date_start),
    date_end: iso(info.date_end),
    url: info.url ?? null,
    context: info.context,
    pubsub: pubsubKey(info.id),
    status_text: info.status_text,
    error: info.error,
    job_type: info.job_type,
    tags: info.tags,
    priority: info.priority,
    class: info.class,
    progress: info.progress,
    attempts: info.attempts,
    max_attempts: info.max_attempts,
    lost: info.lost,
  });
}
