/** An error from a system call in the native addon: errno, its name, and the call that failed. */
export class NativeError extends Error {
  override readonly name = 'NativeError';
  constructor(
    message: string,
    readonly errno: number,
    readonly code: string,
    readonly syscall: string,
  ) {
    super(message);
  }
}

interface RawError {
  message: string;
  errno?: number;
  code?: string;
  syscall?: string;
}

/** Calls into the addon and turns its errno-carrying errors into NativeError. */
export function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    const e = error as RawError;
    if (e && typeof e.errno === 'number' && typeof e.syscall === 'string') {
      throw new NativeError(e.message, e.errno, e.code ?? 'EUNKNOWN', e.syscall);
    }
    throw error;
  }
}
