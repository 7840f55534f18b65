import type { z } from 'zod';
import { type Parsed, WireError } from './errors.js';

/**
 * JSON messages between mcc's own processes (worker protocol, node-to-node messages) are checked against a
 * zod schema and refused as WireErrors, so they are logged and counted like any other bad input.
 */
export function decodeJson<T>(
  schema: z.ZodType<T>,
  bytes: Uint8Array,
  what: string,
  /**
   * A hand-written check for the messages that come by the thousand: the value when it is certain the
   * schema accepts it as it is, undefined to let the schema judge (and word the error).
   */
  fast?: (json: unknown) => T | undefined,
): Parsed<T> {
  let json: unknown;
  try {
    // A view of the bytes, not a copy: mccd's state file is tens of MB.
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    return {
      ok: false,
      error: new WireError('BAD_INPUT', `${what} is not JSON: ${(error as Error).message}`, 0),
    };
  }
  const quick = fast?.(json);
  if (quick !== undefined) return { ok: true, value: quick };
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    error: new WireError(
      'BAD_VALUE',
      `${what}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message}`,
      0,
    ),
  };
}

export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
