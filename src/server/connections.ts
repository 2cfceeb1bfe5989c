import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The server's TCP connections, so that a stopping server ends the idle ones itself. Node's own
 * `close()` reaps keep-alive connections between requests but leaves one that never sent a
 * request open until its headers time out (a minute): fetch opens such a spare connection after
 * an aborted stream, and `sluice serve` then took a minute to stop. A connection busy with a
 * request (or upgraded to a WebSocket, which its own close ends) is left to finish, then ended.
 */
export function endIdleConnectionsOnClose(server: Server): () => void {
  const all = new Set<Socket>();
  const busy = new Map<Socket, number>();
  let stopping = false;
  server.on('connection', (socket: Socket) => {
    all.add(socket);
    socket.once('close', () => {
      all.delete(socket);
      busy.delete(socket);
    });
  });
  server.on('request', (request, response) => {
    const socket = request.socket;
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) return void busy.set(socket, left);
      busy.delete(socket);
      if (stopping) socket.end();
    });
  });
  server.on('upgrade', (request) => busy.set(request.socket, Infinity));
  return () => {
    stopping = true;
    for (const socket of all) if (!busy.has(socket)) socket.destroy();
  };
}
