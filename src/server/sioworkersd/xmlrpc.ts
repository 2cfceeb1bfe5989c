import { Deserializer, serializeFault, serializeMethodResponse, XmlRpcFault, type XmlRpcValue } from '@foxglove/xmlrpc';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SluiceError } from '../../environ/index.js';
import { statusOf } from '../../service/index.js';

/** A method: its XML-RPC arguments in, a JSON-like value out (null becomes `<nil/>`, as with allow_none). */
export type RpcMethod = (args: unknown[], request: FastifyRequest) => Promise<unknown>;

/** Fault codes of Twisted's XMLRPC, which sioworkersd answers with: an unknown method, and a method that raised. */
export const FAULT_NOT_FOUND = 8001;
export const FAULT_FAILURE = 8002;

/**
 * XML-RPC over HTTP POST at `paths` (parsing and writing by @foxglove/xmlrpc): a method call in,
 * its answer or a fault out, always HTTP 200 with text/xml as the protocol wants; but a request
 * without valid credentials is HTTP 401 (Python's xmlrpc.client raises ProtocolError), and a
 * body that is not a method call is a fault. `authorize` runs before the method.
 */
export function xmlRpcRoutes(app: FastifyInstance, paths: string[], methods: Record<string, RpcMethod>, authorize: (request: FastifyRequest) => Promise<void>): void {
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  for (const url of paths) {
    app.post(url, async (request, reply) => {
      try {
        await authorize(request);
      } catch (err) {
        const { status } = statusOf(err);
        return reply.code(status === 500 ? 500 : status).type('text/plain; charset=utf-8').send(`${(err as Error).message}\n`);
      }
      let name: string;
      let args: XmlRpcValue[];
      try {
        [name, args] = await new Deserializer().deserializeMethodCall(String(request.body ?? ''));
      } catch (err) {
        return fault(reply, FAULT_FAILURE, `not an XML-RPC method call: ${(err as Error).message.split('\n')[0]}`);
      }
      const method = Object.hasOwn(methods, name) ? methods[name] : undefined;
      if (!method) return fault(reply, FAULT_NOT_FOUND, `procedure ${name} not found`);
      let answer: unknown;
      try {
        answer = await method(args, request);
      } catch (err) {
        // What the caller got wrong or what Sluice refused: its message. Anything else is ours: logged.
        if (!(err instanceof SluiceError)) request.log.error(err);
        return fault(reply, FAULT_FAILURE, err instanceof SluiceError ? err.message : `internal error: ${(err as Error).message}`);
      }
      return reply.type('text/xml').send(serializeMethodResponse(answer as XmlRpcValue));
    });
  }
}

function fault(reply: FastifyReply, code: number, message: string): FastifyReply {
  return reply.type('text/xml').send(serializeFault(new XmlRpcFault(message, code)));
}
