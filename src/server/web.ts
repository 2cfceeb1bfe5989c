import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { builtFile } from '../environ/index.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/**
 * The dashboard's files (src/web/, bundled into dist/web/ by the build): read once at start, each
 * with its ETag and a gzipped copy. Null when the build made none (the API still works).
 */
export function loadDashboard(dir = builtFile('web')): Map<string, Asset> | null {
  if (!existsSync(path.join(dir, 'index.html'))) return null;
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = readFileSync(path.join(dir, name));
    assets.set(name, { type, body, gzip: gzipSync(body), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return assets;
}

/** Sends an asset: 304 for a matching If-None-Match, gzipped when the client takes it; always revalidated (no-cache), so an upgrade shows at once. */
export function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply.header('etag', asset.etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').header('vary', 'Accept-Encoding');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  reply.type(asset.type);
  if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

/** /assets/NAME: the dashboard's scripts and styles. No sign-in: they hold no data (the API they call does). */
export function assetRoutes(app: FastifyInstance, assets: Map<string, Asset>): void {
  app.get<{ Params: { name: string } }>('/assets/:name', (request, reply) => {
    const asset = request.params.name === 'index.html' ? undefined : assets.get(request.params.name);
    if (!asset) return reply.code(404).type('application/json').send({ error: 'not_found', message: `no asset ${request.params.name}` });
    return sendAsset(request, reply, asset);
  });
}
