/** Text that came from a program: always valid UTF-8, never longer than asked. */

/** Decodes bytes as UTF-8, replacing what is not valid UTF-8 with U+FFFD. */
export function decodeLossy(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}

/** Cuts `text` to at most `maxBytes` bytes of UTF-8 without splitting a character. */
export function cutUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // Step back to the start of a character (continuation bytes are 10xxxxxx).
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** sioworkers' cap for a result_string: 1024 bytes, the first 1019 plus "[...]" when longer. */
export function capResultString(text: string, maxBytes = 1024): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  return `${cutUtf8(text, maxBytes - 5)}[...]`;
}

/** Program output for people: bytes decoded lossily, then cut to `maxBytes` (valid UTF-8 both ways). */
export function outputText(bytes: Uint8Array, maxBytes: number): string {
  return cutUtf8(decodeLossy(bytes.subarray(0, maxBytes + 4)), maxBytes);
}
