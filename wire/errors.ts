/**
 * Every wire decoder in mcc reports bad input as a WireError with a stable code and the byte offset
 * where decoding stopped, so the daemon can log one precise line and count it by code.
 */
export type WireErrorCode =
  | 'TRUNCATED'
  | 'OVERSIZED'
  | 'NOT_SMB2'
  | 'SMB1'
  | 'BAD_HEADER'
  | 'BAD_STRUCTURE_SIZE'
  | 'BAD_COMMAND'
  | 'BAD_OFFSET'
  | 'BAD_COUNT'
  | 'BAD_FAMILY'
  | 'BAD_ADDRESS'
  | 'BAD_VALUE'
  | 'BAD_INPUT';

export class WireError extends Error {
  override readonly name = 'WireError';
  constructor(
    readonly code: WireErrorCode,
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: WireError };

/**
 * Runs a decoder that signals bad input by throwing WireError and turns that into a Parsed result.
 * Any other exception is a bug in the decoder and is rethrown so property tests catch it.
 */
export function parse<T>(decode: () => T): Parsed<T> {
  try {
    return { ok: true, value: decode() };
  } catch (error) {
    if (error instanceof WireError) return { ok: false, error };
    throw error;
  }
}

/** Unwraps a Parsed result, throwing its WireError. For callers that prefer exceptions. */
export function unwrap<T>(result: Parsed<T>): T {
  if (!result.ok) throw result.error;
  return result.value;
}
