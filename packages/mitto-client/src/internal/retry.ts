// Retries for failures where nothing was sent (connection, 429, 5xx), on top of p-retry. p-retry
// counts the attempts; the wait is ours, because `Retry-After` must win over the computed backoff
// and p-retry has no hook for a per-error delay. An ambiguous failure is never retried here.

import type { Logger } from '@smsbatch/core';
import pRetry from 'p-retry';
import { MittoAbortError, type MittoError } from './errors.js';

export interface BackoffSettings {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  maxRetryAfterMs: number;
}

/**
 * Capped exponential backoff with "equal jitter": the wait for retry `n` (1-based) lies in
 * `[cap / 2, cap]` with `cap = min(maxDelayMs, initialDelayMs * factor^(n-1))`, so it never
 * exceeds `maxDelayMs` and concurrent callers spread out.
 */
export function computeBackoffMs(
  retryNumber: number,
  settings: Pick<BackoffSettings, 'initialDelayMs' | 'maxDelayMs' | 'factor'>,
  random: () => number = Math.random,
): number {
  const exponential = settings.initialDelayMs * settings.factor ** Math.max(0, retryNumber - 1);
  const cap = Math.min(settings.maxDelayMs, exponential);
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** The wait before the next attempt, or `null` when this error must not be retried in-call. */
export function retryDelayFor(
  error: MittoError,
  retryNumber: number,
  settings: BackoffSettings,
  random: () => number = Math.random,
): number | null {
  if (!error.isRetryable || error.sendState !== 'not-sent' || error.code === 'aborted') {
    return null;
  }
  if (error.retryAfterMs !== undefined) {
    // The server's word wins, but a long wait belongs to the caller's scheduler, not to a call.
    return error.retryAfterMs <= settings.maxRetryAfterMs ? error.retryAfterMs : null;
  }
  return computeBackoffMs(retryNumber, settings, random);
}

export interface RetryRun {
  maxRetries: number;
  backoff: BackoffSettings;
  signal: AbortSignal | undefined;
  logger: Logger;
  /** For the log line: `sendBulk`, `lookup`, ... */
  operation: string;
  random?: () => number;
}

export function withRetries<T>(attempt: () => Promise<T>, run: RetryRun): Promise<T> {
  // The signal is deliberately not handed to p-retry: it checks the signal after a successful
  // attempt and would turn an accepted batch into an abort error. We check it where it is safe.
  return pRetry(attempt, {
    retries: run.maxRetries,
    minTimeout: 0,
    factor: 1,
    randomize: false,
    shouldRetry: async ({ error, attemptNumber }) => {
      const mittoError = error as MittoError;
      const delayMs = retryDelayFor(mittoError, attemptNumber, run.backoff, run.random);
      if (delayMs === null) {
        return false;
      }
      run.logger.warn(
        {
          operation: run.operation,
          attempt: attemptNumber,
          delayMs,
          code: mittoError.code,
          status: mittoError.status,
          requestId: mittoError.requestId,
          error: mittoError.message,
        },
        'mitto: request failed before anything was sent; retrying',
      );
      await sleep(delayMs, run.signal);
      return true;
    },
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) {
    return Promise.reject(abortedWhileWaiting(signal));
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      clearTimeout(timer);
      reject(abortedWhileWaiting(signal!));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const abortedWhileWaiting = (signal: AbortSignal): MittoAbortError =>
  new MittoAbortError('aborted while waiting to retry; nothing was sent', {
    cause: signal.reason,
  });
