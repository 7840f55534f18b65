/**
 * The coordinator's own failures carry a stable code beside their message, as WireError and NativeError
 * do, so the operator API can answer by code and logs can be searched by it.
 */
export type CoordinatorErrorCode = 'NOT_STARTED' | 'NO_CLIENT' | 'BAD_API_TOKEN';

export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';
  constructor(
    readonly code: CoordinatorErrorCode,
    message: string,
  ) {
    super(message);
  }
}
