// The client's options: one strict zod schema, defaults applied here and documented next to
// each field. Bad options fail fast with a MittoValidationError that names the option.

import type { Logger } from '@smsbatch/core';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { MittoValidationError } from './errors.js';

// Core is a peer used for types only, so the client needs no core at run time.
const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

/** Mitto does not publish a maximum; integrations use 500–5,000. We never go past this. */
export const HARD_MAX_BATCH_SIZE = 1000;

const isLogger = (value: unknown): value is Logger =>
  value !== null &&
  typeof value === 'object' &&
  ['debug', 'info', 'warn', 'error', 'child'].every(
    (key) => typeof (value as Record<string, unknown>)[key] === 'function',
  );

const isDispatcher = (value: unknown): value is MittoDispatcher =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as { dispatch?: unknown }).dispatch === 'function';

/** What the client needs of a transport: any undici `Dispatcher` fits. */
export type MittoDispatcher = Pick<Dispatcher, 'dispatch'>;

const positiveInt = () => z.number().int().positive();

const backoffSchema = z
  .object({
    /** First retry waits about this long (ms), then it doubles (`factor`). */
    initialDelayMs: z.number().int().nonnegative().default(250),
    /** No computed wait is longer than this (ms). */
    maxDelayMs: z.number().int().nonnegative().default(5_000),
    factor: z.number().min(1).default(2),
    /**
     * A `Retry-After` longer than this (ms) is not waited out inside the call: the error goes up
     * with `retryAfterMs` so the pipeline can delay the whole traffic account instead.
     */
    maxRetryAfterMs: z.number().int().nonnegative().default(30_000),
  })
  .strict();

export const mittoClientOptionsSchema = z
  .object({
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .default('https://messaging.mittoapi.com'),
    apiKey: z.string().min(1, 'is required'),
    /** Per attempt: from dispatch to the last byte of the answer (ms). */
    timeoutMs: positiveInt().default(30_000),
    /** Connect timeout (ms); clamped to `timeoutMs`. */
    connectTimeoutMs: positiveInt().default(10_000),
    /** Retries after the first attempt, only for errors where nothing was sent. */
    maxRetries: z.number().int().nonnegative().max(10).default(2),
    /** Keep-alive connections in the pool. */
    connections: positiveInt().max(256).default(10),
    maxBatchSize: positiveInt().max(HARD_MAX_BATCH_SIZE).default(500),
    /** Send each message's `reference` (unconfirmed in Mitto's contract, hence the switch). */
    sendReference: z.boolean().default(true),
    /** References longer than this are refused locally rather than silently cut by Mitto. */
    maxReferenceLength: positiveInt().default(50),
    logger: z.custom<Logger>(isLogger, 'must be a pino-compatible logger').default(silentLogger),
    backoff: backoffSchema.prefault({}),
    /** Replaces the built-in pool (tests, proxies). Not closed by `close()`: the caller owns it. */
    dispatcher: z.custom<MittoDispatcher>(isDispatcher, 'must have a dispatch() method').optional(),
  })
  .strict();

export type MittoClientOptions = z.input<typeof mittoClientOptionsSchema>;
export type ResolvedMittoClientOptions = z.output<typeof mittoClientOptionsSchema>;
export type MittoBackoffOptions = z.input<typeof backoffSchema>;

export function resolveClientOptions(input: unknown): ResolvedMittoClientOptions {
  const parsed = mittoClientOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: issue.path.filter((p): p is string | number => typeof p !== 'symbol'),
      // zod may quote the received value; never let it quote the API key.
      message: issue.path[0] === 'apiKey' ? 'is required' : issue.message,
    }));
    throw new MittoValidationError(issues, {
      message: `invalid Mitto client options: ${issues
        .map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`)
        .join('; ')}`,
    });
  }
  const options = parsed.data;
  if (options.connectTimeoutMs > options.timeoutMs) {
    options.logger.warn(
      { connectTimeoutMs: options.connectTimeoutMs, timeoutMs: options.timeoutMs },
      'mitto: connectTimeoutMs exceeds timeoutMs; clamped',
    );
    options.connectTimeoutMs = options.timeoutMs;
  }
  if (options.backoff.initialDelayMs > options.backoff.maxDelayMs) {
    options.logger.warn(
      { initialDelayMs: options.backoff.initialDelayMs, maxDelayMs: options.backoff.maxDelayMs },
      'mitto: backoff.initialDelayMs exceeds maxDelayMs; clamped',
    );
    options.backoff.initialDelayMs = options.backoff.maxDelayMs;
  }
  return options;
}
