import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { NotFoundError, RateLimitedError, UnavailableError } from '../environ/index.js';
import type { NodeInfo } from '../store/index.js';
import { TERMINAL } from '../store/index.js';
import { moiInfo } from '../bridge/index.js';
import type { ScopedService } from '../service/index.js';
import type { Streams } from './streams.js';

type Verb = 'get' | 'add' | 'update' | 'remove';

/**
 * moi's WebSocket (`moi/websocket.py` with `moi/group.py`), so that moi's own browser client
 * (`moi.js`, `moi_list.js`) works against Sluice unchanged. One view per socket, of the signed-in
 * user (from the session cookie or `?token=`, never from a message):
 *
 * - from the moment it opens, every change to the user's nodes is sent as `{"add": info}` (a new
 *   node) or `{"update": info}`, one frame per node, as moi's Group forwards its channels;
 * - `{"get": []}` answers `{"get": info}` for each of the user's nodes; `{"get": [ID, ...]}` for
 *   each id and, for a group, everything below it (ids that are not there are skipped, as moi does);
 *   a node asked for (an admin may ask for anyone's) joins the view, a group with its descendants;
 * - `{"add": [ID, ...]}` (moi's Group takes it from a client too) is `get` answered as `add`, and
 *   brings removed nodes back into this socket's view (not into the user's other sockets);
 * - `{"remove": [ID, ...]}` takes the nodes, and the descendants of a group, out of the user's view,
 *   answering `{"remove": info}` for each; as moi's SREM from the children sets, this lasts across
 *   the user's sockets (their records stay);
 * - `{"close": null}` closes the socket. A frame that is not JSON is ignored (as moi); an unknown
 *   verb or a non-list argument (moi raises) is answered `{"error": "..."}`, and the socket stays.
 *
 * A change is never sent older than what was sent before: a `get` remembers the sequence number it
 * read at, changes up to it are dropped for the nodes it sent, and once a job's end has been sent
 * no change of it is (its record is fixed: one terminal update per job).
 */
export function moiRoutes(app: FastifyInstance, options: { streams: Streams }): void {
  app.get('/moi-ws/', { websocket: true }, (socket: WebSocket, request: FastifyRequest) => {
    void new MoiSocket(socket, request.sluice, options.streams).run().catch((err) => {
      // Too many streams, or a stopping server: "try again later" (1013), with the reason.
      if (err instanceof RateLimitedError || err instanceof UnavailableError) return socket.close(1013, err.message.slice(0, 120));
      request.log.error(err);
      socket.close(1011, 'internal error');
    });
  });
}

class MoiSocket {
  /** nodes asked for by `get` or `add` (with groups' subtrees, in view beside the user's own nodes) */
  private readonly watched = new Set<string>();
  /** nodes taken out of the view, with everything below them */
  private readonly removed = new Set<string>();
  /** the sequence number a node's sent state is at least as new as */
  private readonly sentAt = new Map<string, number>();
  /** jobs whose end was sent */
  private readonly ended = new Set<string>();
  private readonly stop = new AbortController();
  /** client messages are handled one after another, in order */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly socket: WebSocket,
    private readonly service: ScopedService,
    private readonly streams: Streams,
  ) {}

  async run(): Promise<void> {
    const me = this.service.principal.name;
    const release = this.streams.add(me, 'ws', () => {
      this.stop.abort();
      this.socket.close(1001, 'the server is stopping');
    });
    this.socket.once('close', () => {
      this.stop.abort();
      release();
    });
    // Listening at once (moi.js sends its get as soon as the socket opens); messages wait for the view to be read.
    const ready = (async () => {
      for (const id of await this.service.hidden()) this.removed.add(id);
      return this.service.inner.lastSeq();
    })();
    this.queue = ready.then(() => undefined);
    this.socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.queue = this.queue.then(() => this.onMessage(String(data))).catch((err) => this.send({ error: (err as Error).message }));
    });
    const since = await ready;
    // Everything an admin may see goes by; the view picks what this socket shows.
    const admin = this.service.principal.role === 'admin';
    const items = await this.service.openStream({ type: 'any', ...(admin ? {} : { owner: me }) }, { since, signal: this.stop.signal });
    for await (const item of items) {
      if (item.verb !== 'add' && item.verb !== 'update') continue;
      if (this.inView(item.info)) this.emit(item.verb, item.info, item.seq);
    }
  }

  private async onMessage(text: string): Promise<void> {
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return; // moi ignores what it cannot decode
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return this.send({ error: 'a message is an object: {"get": [...]}, {"remove": [...]} or {"close": null}' });
    if ('close' in payload) return void this.socket.close(1000);
    for (const [verb, args] of Object.entries(payload)) {
      if (verb !== 'get' && verb !== 'add' && verb !== 'remove') {
        this.send({ error: `unknown action: ${verb}` });
        continue;
      }
      if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' || a === null)) {
        this.send({ error: `${verb} takes a list of ids` });
        continue;
      }
      const ids = args.filter((a): a is string => typeof a === 'string');
      if (verb === 'remove') await this.remove(ids);
      else await this.get(ids, verb);
    }
  }

  /**
   * moi's `_action_get`: the nodes asked for (all of the user's for []), groups expanded to their
   * descendants. moi's `_action_add` (a client may send `add` too) is the same read after listening
   * to each id: the node, and what is below it, comes back into this socket's view even if it was
   * removed (as moi subscribes again without putting it back in the children sets), answered `add`.
   */
  private async get(ids: string[], verb: 'get' | 'add'): Promise<void> {
    const at = await this.service.inner.lastSeq();
    if (!ids.length) {
      if (verb === 'add') return;
      const mine = await this.service.list({ type: 'any', owner: this.service.principal.name });
      for (const info of this.visible(mine)) this.emit('get', info, at, true);
      return;
    }
    for (const id of new Set(ids)) {
      const node = await this.node(id);
      if (!node) continue;
      if (verb === 'add') this.removed.delete(id);
      else if (this.removed.has(id)) continue;
      this.watched.add(id);
      this.emit(verb, node, at, true);
      if (node.type !== 'group') continue;
      const below = await this.service.list({ type: 'any', under: id });
      if (verb === 'add') for (const n of below) this.removed.delete(n.id);
      for (const info of this.visible(below)) this.emit(verb, info, at, true);
    }
  }

  /** moi's `_action_remove`: out of the view for good, the removed node's descendants with it, each said. */
  private async remove(ids: string[]): Promise<void> {
    const gone: NodeInfo[] = [];
    for (const id of new Set(ids)) {
      const node = await this.node(id);
      if (!node || this.removed.has(id)) continue;
      gone.push(node);
      if (node.type === 'group') gone.push(...(await this.service.list({ type: 'any', under: id })).filter((n) => !this.removed.has(n.id)));
    }
    if (!gone.length) return;
    await this.service.hide(gone.map((n) => n.id));
    for (const info of gone) {
      this.removed.add(info.id);
      this.watched.delete(info.id);
      this.frame('remove', info);
    }
  }

  /** A node the user may see, or undefined (an id that is not there, or not theirs, is skipped as moi skips a missing key). */
  private async node(id: string): Promise<NodeInfo | undefined> {
    try {
      return await this.service.get(id);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Nodes minus those removed from the view, or below one that was (parents come before children in a listing). */
  private visible(nodes: NodeInfo[]): NodeInfo[] {
    const out: NodeInfo[] = [];
    for (const n of nodes) {
      if (this.removed.has(n.id)) continue;
      if (n.parent !== null && this.removed.has(n.parent)) {
        this.removed.add(n.id);
        continue;
      }
      out.push(n);
    }
    return out;
  }

  private inView(info: NodeInfo): boolean {
    if (this.removed.has(info.id)) return false;
    if (info.parent !== null && this.removed.has(info.parent)) {
      // A child made under a removed group is out of the view too.
      this.removed.add(info.id);
      return false;
    }
    if (info.owner === this.service.principal.name) return true;
    if (this.watched.has(info.id)) return true;
    if (info.parent !== null && this.watched.has(info.parent)) {
      this.watched.add(info.id);
      return true;
    }
    return false;
  }

  /**
   * Sends a node's state; a change is dropped when what was sent of the node is as new, or its end
   * was sent already. An answer (to `get` or `add`) always goes: moi's list adds a row only for get or add.
   */
  private emit(verb: Verb, info: NodeInfo, seq: number, answer = false): void {
    if (!answer && (this.ended.has(info.id) || (this.sentAt.get(info.id) ?? -1) >= seq)) return;
    this.sentAt.set(info.id, Math.max(seq, this.sentAt.get(info.id) ?? -1));
    if (info.type === 'job' && info.status && TERMINAL.has(info.status)) this.ended.add(info.id);
    this.frame(verb, info);
  }

  private frame(verb: Verb, info: NodeInfo): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(`{"${verb}":${moiInfo(info)}}`);
  }

  private send(message: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }
}
