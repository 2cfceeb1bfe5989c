import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/service/index.js';
import { exited, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { api, startServe } from './helpers/server.js';

/**
 * A stopping `sluice serve` ends on its own: neither an idle client connection nor the spare one
 * fetch opens after an aborted stream holds it (Node's close() leaves a connection that never
 * sent a request open until its headers time out, a minute; each case here would then outlive
 * the test's time), and a long poll in flight is answered (503) first.
 */
describe.each(BACKENDS)('a stopping server on $name', (backend) => {
  it('stops with connections open that never sent a request, and after a client aborted its stream', async () => {
    const home = backend.fresh();
    try {
      const server = await startServe(home.env, ['--no-workers']);
      const { port } = new URL(server.url);
      const idle = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => idle.once('connect', resolve));
      const closed = new Promise((resolve) => idle.once('close', resolve));
      // A stream through the client library, aborted: fetch then keeps a spare connection open.
      const service = connect(server.url, { token: server.token! });
      const stop = new AbortController();
      const seen: string[] = [];
      const reading = (async () => {
        for await (const item of service.stream({}, { signal: stop.signal })) seen.push(item.verb);
      })();
      await until(() => (seen.includes('sync') ? true : undefined), 20_000, 'the sync');
      stop.abort();
      await reading;
      // A long poll in flight is answered (503: ask again) rather than cut.
      const [id] = await service.submit([{ environ: { job_type: 'ping' } }]);
      const polling = api(server.url, server.token, 'GET', `/api/v1/jobs/${id}/wait?timeout=60`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      server.child.kill('SIGTERM');
      expect(await polling).toMatchObject({ status: 503, body: { error: 'unavailable', message: expect.stringMatching(/the server is stopping/) } });
      expect(await exited(server.child)).toBe(0);
      await closed;
    } finally {
      home.cleanup();
    }
  });
});
