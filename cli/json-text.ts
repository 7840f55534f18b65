/**
 * JSON typed by a person: V8's JSON.parse says what is wrong but, for an unexpected token, not where,
 * and it quotes the input (newlines included) in its message. This finds the byte offset of the first
 * syntax error itself, so `mcc` can print one line that points at it.
 */
import { UsageError } from './io.js';

const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/** The character index of the first JSON syntax error in `text`, or undefined when it is valid JSON. */
export function jsonSyntaxErrorIndex(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxAt(i);
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const expect = (c: string) => {
    if (text[i] !== c) fail();
    i++;
  };
  const string = () => {
    expect('"');
    for (;;) {
      const c = text[i];
      if (c === undefined || c < ' ') fail();
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        ESCAPE.lastIndex = i;
        if (!ESCAPE.test(text)) fail();
        i = ESCAPE.lastIndex;
      } else i++;
    }
  };
  const items = (close: string, item: () => void) => {
    i++;
    space();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      space();
      item();
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      expect(',');
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail();
    space();
    const c = text[i];
    const literal = ['true', 'false', 'null'].find((l) => l[0] === c);
    if (c === '{') {
      items('}', () => {
        string();
        space();
        expect(':');
        value(depth + 1);
      });
    } else if (c === '[') {
      items(']', () => value(depth + 1));
    } else if (c === '"') {
      string();
    } else if (literal) {
      for (const expected of literal) expect(expected);
    } else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) fail();
      i = NUMBER.lastIndex;
    }
  };
  try {
    value(0);
    space();
    if (i < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxAt) return error.index;
    throw error;
  }
}

class SyntaxAt {
  constructor(readonly index: number) {}
}

/** JSON.parse for CLI input: a syntax error becomes one UsageError line naming the byte offset. */
export function parseJsonInput(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const index = jsonSyntaxErrorIndex(text) ?? text.length;
    const byte = Buffer.byteLength(text.slice(0, index));
    const found = index < text.length ? `unexpected ${JSON.stringify(text[index])}` : 'unexpected end';
    // V8's own words help where they name the construct ("Unterminated string", "Bad Unicode escape");
    // its "Unexpected token" forms quote the input and say no more than `found` does.
    const v8 = (error as Error).message;
    const reason = /^Unexpected (token|end)/.test(v8) ? '' : ` (${v8.split(' in JSON at position')[0]})`;
    throw new UsageError(`${what} is not JSON: ${found} at byte ${byte}${reason}`);
  }
}
