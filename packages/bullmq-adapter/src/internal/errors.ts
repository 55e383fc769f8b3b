// The package's one error class. Bad options are core's ValidationError (so every adapter reports
// them alike); what fails at run time is a BullmqAdapterError with a stable `code` and the cause.

/**
 * `redis_failed`: a Redis call of the transport or the limiter failed (connection lost, script
 * error); nothing is known to have been written. `closed`: the object was used after `close()`.
 */
export type BullmqAdapterErrorCode = 'redis_failed' | 'closed';

export class BullmqAdapterError extends Error {
  readonly code: BullmqAdapterErrorCode;

  constructor(code: BullmqAdapterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BullmqAdapterError';
    this.code = code;
  }
}

/** Also matches on `name`, so it works across two copies of the package. */
export const isBullmqAdapterError = (error: unknown): error is BullmqAdapterError =>
  error instanceof BullmqAdapterError ||
  (error instanceof Error && error.name === 'BullmqAdapterError');

/** Runs a Redis call, turning its failure into a `redis_failed` error that says what was tried. */
export async function redisCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isBullmqAdapterError(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new BullmqAdapterError('redis_failed', `${what}: ${reason}`, { cause: error });
  }
}
