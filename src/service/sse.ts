/** One server-sent event as the WHATWG rules read it: its type, its data lines joined, and its id when it had one. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Reads server-sent events from a response body, as a browser's EventSource does: lines end with
 * LF, CR or CRLF; `:` starts a comment (a heartbeat); a blank line ends an event; an event
 * without data is not dispatched. An event cut off by a dropped connection is never returned.
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncIterable<SseEvent> {
  const decoder = new TextDecoder();
  let pending = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      const end = lineEnd(pending, start);
      if (end < 0) break;
      const line = pending.slice(start, end);
      start = end + (pending[end] === '\r' && pending[end + 1] === '\n' ? 2 : 1);
      if (line === '') {
        if (data.length) yield { event: event || 'message', data: data.join('\n'), id };
        event = '';
        data = [];
        id = undefined;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
    pending = pending.slice(start);
    // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
  }
}

/** Where the next line ends (a CR at the very end waits: it may be half a CRLF). */
function lineEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) return i;
    if (c === 13) return i + 1 < text.length ? i : -1;
  }
  return -1;
}
