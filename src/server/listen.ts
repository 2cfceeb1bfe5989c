import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { explainListenError } from '../environ/index.js';

/**
 * Listens on host:port (0: any free port) and answers the port taken and the base URL
 * (`http://HOST:PORT`, an IPv6 host in brackets); a refusal (port in use, no such address) is closed
 * and becomes one clear error.
 */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<{ port: number; url: string }> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close().catch(() => {});
    throw explainListenError(err, host, port);
  }
  const taken = (app.server.address() as AddressInfo).port;
  return { port: taken, url: `http://${host.includes(':') ? `[${host}]` : host}:${taken}` };
}
