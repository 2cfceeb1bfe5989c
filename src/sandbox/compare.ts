/**
 * The default output comparison, following oicompare (notes §3.3): words are separated by space,
 * TAB, VT, CR and NUL; a line feed is a token of its own, so the line structure matters; leading and
 * trailing whitespace on a line, runs of separators, and empty lines at the end of either file are
 * ignored. `1` and `1.0` differ; a blank line in the middle is significant.
 */
export interface Comparison {
  ok: boolean;
  /** `OK`, or oicompare's report in the chosen format: `WRONG: line 2: expected "DEF", got "ABC"`. */
  message: string;
}

/** oicompare's report formats (`checker_format`): a language and how much is said. */
export interface ReportFormat {
  language: 'english' | 'polish';
  kind: 'terse' | 'abbreviated' | 'full';
}

const WORDS = {
  english: { wrong: 'WRONG', line: 'line', expected: 'expected', got: 'got', eol: 'end of line', eof: 'end of file' },
  polish: { wrong: 'ŹLE', line: 'wiersz', expected: 'oczekiwano', got: 'otrzymano', eol: 'koniec wiersza', eof: 'koniec pliku' },
};

/** `english_abbreviated` (sioworkers' default), `polish_full`...; undefined for a name oicompare does not know. */
export function reportFormat(name: unknown = 'english_abbreviated'): ReportFormat | undefined {
  const m = typeof name === 'string' ? /^(english|polish)_(terse|abbreviated|full)$/.exec(name) : null;
  return m ? { language: m[1] as ReportFormat['language'], kind: m[2] as ReportFormat['kind'] } : undefined;
}

const LF = 0x0a;
const isSeparator = (b: number) => b === 0x20 || b === 0x09 || b === 0x0b || b === 0x0d || b === 0x00;

type Token = { kind: 'word'; start: number; end: number } | { kind: 'lf' } | { kind: 'eof' };

class Tokens {
  pos = 0;
  line = 1;
  constructor(readonly buf: Uint8Array) {}

  next(): Token {
    const { buf } = this;
    while (this.pos < buf.length && isSeparator(buf[this.pos]!)) this.pos++;
    if (this.pos >= buf.length) return { kind: 'eof' };
    if (buf[this.pos] === LF) {
      this.pos++;
      this.line++;
      return { kind: 'lf' };
    }
    const start = this.pos;
    while (this.pos < buf.length && buf[this.pos] !== LF && !isSeparator(buf[this.pos]!)) this.pos++;
    return { kind: 'word', start, end: this.pos };
  }

  /** Skips line feeds; returns the first token that is not one. */
  skipEmptyLines(): Token {
    let t = this.next();
    while (t.kind === 'lf') t = this.next();
    return t;
  }
}

/** Compares the contestant's `output` against the `expected` answer (the hint). */
export function compareOutputs(expected: Uint8Array, output: Uint8Array, format: ReportFormat = { language: 'english', kind: 'abbreviated' }): Comparison {
  const describe = (buf: Uint8Array, t: Token) => describeToken(buf, t, format);
  const wrong = (line: number, x: string, y: string): Comparison => {
    const w = WORDS[format.language];
    return { ok: false, message: format.kind === 'terse' ? w.wrong : `${w.wrong}: ${w.line} ${line}: ${w.expected} ${x}, ${w.got} ${y}` };
  };
  const exp = new Tokens(expected);
  const out = new Tokens(output);
  for (;;) {
    const lineBefore = exp.line;
    let a = exp.next();
    let b = out.next();
    if (a.kind === 'eof' && b.kind === 'eof') return { ok: true, message: 'OK' };
    if (a.kind === 'lf' && b.kind === 'lf') continue;
    if (a.kind === 'word' && b.kind === 'word') {
      if (equalBytes(expected, a, output, b)) continue;
      return wrong(lineBefore, describe(expected, a), describe(output, b));
    }
    // One side ended its line or its file: empty lines before the end of a file are ignored.
    if ((a.kind === 'eof' && b.kind === 'lf') || (a.kind === 'lf' && b.kind === 'eof')) {
      if (a.kind === 'lf') a = exp.skipEmptyLines();
      else b = out.skipEmptyLines();
      if (a.kind === 'eof' && b.kind === 'eof') return { ok: true, message: 'OK' };
      const line = a.kind === 'eof' ? out.line : exp.line;
      return wrong(line, describe(expected, a), describe(output, b));
    }
    return wrong(lineBefore, describe(expected, a), describe(output, b));
  }
}

function equalBytes(x: Uint8Array, a: Token & { kind: 'word' }, y: Uint8Array, b: Token & { kind: 'word' }): boolean {
  const len = a.end - a.start;
  if (len !== b.end - b.start) return false;
  return Buffer.from(x.buffer, x.byteOffset + a.start, len).equals(Buffer.from(y.buffer, y.byteOffset + b.start, len));
}

const MAX_SHOWN = 100;

/**
 * A token as oicompare shows it: quoted, bytes other than printable ASCII (and `"`, `<`, `>`) as
 * <0xHH>; the abbreviated format cuts a long word at 100 bytes with `…` (oicompare keeps the bytes
 * around the first difference; this keeps the start).
 */
function describeToken(buf: Uint8Array, t: Token, format: ReportFormat): string {
  const w = WORDS[format.language];
  if (t.kind === 'eof') return w.eof;
  if (t.kind === 'lf') return w.eol;
  const end = format.kind === 'abbreviated' ? Math.min(t.end, t.start + MAX_SHOWN) : t.end;
  let text = '';
  for (let i = t.start; i < end; i++) {
    const c = buf[i]!;
    const plain = c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x3c && c !== 0x3e;
    text += plain ? String.fromCharCode(c) : `<0x${c.toString(16).toUpperCase().padStart(2, '0')}>`;
  }
  return `"${text}${t.end > end ? '…' : ''}"`;
}
