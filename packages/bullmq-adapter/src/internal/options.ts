// The options of the transport, the workers and the limiter: strict zod schemas with every default
// here, next to its field. Bad options fail fast with core's ValidationError naming each field.

import { hostname } from 'node:os';
import {
  type JobHandler,
  type JobKind,
  type Logger,
  type Metrics,
  type RateLimit,
  ValidationError,
} from '@smsbatch/core';
import { z } from 'zod';
import type { RedisConnection } from './connection.js';
import { ATTEMPTS_CEILING, DEFAULT_RETENTION, JOB_KINDS } from './queues.js';

const int = (min: number) => z.number().int().min(min);

const connection = z.custom<RedisConnection>(
  (value) => typeof value === 'string' || (typeof value === 'object' && value !== null),
  'must be a redis:// URL, ioredis options or an ioredis client',
);

/** Every key this package writes starts with `<prefix>:`. */
const prefix = z
  .string()
  .regex(/^[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*$/, 'letters, digits, _ . - and inner ":" only')
  .default('smsbatch');

/** BullMQ's KeepJobs: an `age` in seconds (and optionally a `count`), or a `count` alone. */
const keepJobs = z.union([
  z.strictObject({ age: int(1), count: int(0).optional() }),
  z.strictObject({ count: int(0) }),
]);

const isFunction = (value: unknown) => typeof value === 'function';
const hasMethods = (value: unknown, names: readonly string[]) =>
  typeof value === 'object' &&
  value !== null &&
  names.every((name) => isFunction((value as Record<string, unknown>)[name]));

const logger = z.custom<Logger>(
  (value) => hasMethods(value, ['debug', 'info', 'warn', 'error', 'child']),
  'must be a pino-compatible logger',
);
const metrics = z.custom<Metrics>(
  (value) => hasMethods(value, ['increment', 'observe', 'gauge']),
  'must implement increment, observe and gauge',
);

export const transportOptionsSchema = z.strictObject({
  connection,
  prefix,
  keepCompleted: keepJobs.default(DEFAULT_RETENTION.keepCompleted),
  keepFailed: keepJobs.default(DEFAULT_RETENTION.keepFailed),
  /** Where Redis connection errors go (the calls that fail throw as well). */
  logger: logger.optional(),
});

export type BullmqTransportOptions = z.input<typeof transportOptionsSchema>;

const retryPolicy = z.strictObject({
  /** Runs of a job before it fails for good; a `delay` outcome does not count. */
  attempts: int(1).max(ATTEMPTS_CEILING),
  /** Retry after a thrown error: full jitter over `min(maxMs, baseMs * 2^(attempt-1))`. */
  baseMs: int(0),
  maxMs: int(0),
});

export type RetryPolicy = z.output<typeof retryPolicy>;

const CAMPAIGN_RETRY: RetryPolicy = { attempts: 10, baseMs: 1_000, maxMs: 60_000 };

/**
 * Campaign and test jobs retry for a few minutes (a store outage); maintenance jobs do not retry,
 * because their scheduler runs them again anyway.
 */
export const DEFAULT_RETRY: Readonly<Record<JobKind, RetryPolicy>> = {
  plan: CAMPAIGN_RETRY,
  batch: CAMPAIGN_RETRY,
  single: CAMPAIGN_RETRY,
  test: { attempts: 10, baseMs: 500, maxMs: 10_000 },
  refresh: { attempts: 1, baseMs: 0, maxMs: 0 },
  reconcile: { attempts: 1, baseMs: 0, maxMs: 0 },
};

export const workersOptionsSchema = z
  .strictObject({
    connection,
    prefix,
    /** What runs a job: core's `pipeline.handleJob`. Give this or `pipeline`. */
    handleJob: z.custom<JobHandler>(isFunction, 'must be a function').optional(),
    pipeline: z
      .custom<{ handleJob: JobHandler }>(
        (value) => hasMethods(value, ['handleJob']),
        'must have a handleJob method',
      )
      .optional(),
    /** Recorded on each job it runs (`processedBy`) and in Redis's client list. */
    name: z
      .string()
      .min(1)
      .default(() => `${hostname()}-${process.pid}`),
    /** `WORKER_CONCURRENCY`: jobs at once on the bulk queue, and again on the single queue. */
    concurrency: int(1).default(5),
    /** Test sends at once, on workers of their own. */
    testConcurrency: int(1).default(2),
    /**
     * `QUEUE_RATE_MAX` per `QUEUE_RATE_DURATION_MS`: BullMQ's queue-wide limiter on the bulk
     * queue, across every worker process. Per-account limits are the RateLimiter's job; this one
     * only caps the job rate. `null`: none.
     */
    queueRateLimit: z
      .strictObject({ max: int(1), duration: int(1) })
      .nullable()
      .default(null),
    /**
     * How long a job's lock lives without renewal (the worker renews it every half). A worker that
     * dies holds its jobs this long before the stalled check hands them to another worker.
     */
    lockDuration: int(1_000).default(30_000),
    /** How often each worker looks for jobs whose lock expired (and re-runs them). */
    stalledInterval: int(1_000).default(15_000),
    /** Stalls before a job fails for good (the reconciler still finds its work in the store). */
    maxStalledCount: int(0).default(2),
    /** Per job kind; merged over `DEFAULT_RETRY`. */
    retry: z.partialRecord(z.enum(JOB_KINDS), retryPolicy.partial()).default({}),
    /** The reconciler's job scheduler period. */
    reconcileEveryMs: int(100).default(5_000),
    /** The status sweep's (`refresh` without a target) job scheduler period. */
    sweepEveryMs: int(100).default(60_000),
    /** How often queue counts are published as gauges (with `metrics` only). */
    metricsEveryMs: int(100).default(15_000),
    /** How long `close()` waits for running jobs before releasing them to other workers. */
    closeTimeoutMs: int(0).default(30_000),
    keepCompleted: keepJobs.default(DEFAULT_RETENTION.keepCompleted),
    keepFailed: keepJobs.default(DEFAULT_RETENTION.keepFailed),
    logger: logger.optional(),
    metrics: metrics.optional(),
  })
  .refine((options) => (options.handleJob === undefined) !== (options.pipeline === undefined), {
    message: 'give exactly one of handleJob and pipeline',
    path: ['handleJob'],
  });

export type SmsWorkersOptions = z.input<typeof workersOptionsSchema>;

export const rateLimiterOptionsSchema = z.strictObject({
  connection,
  prefix,
  /** The limit of a key, or `null` for a key never limited (backoffs still apply). */
  limits: z.custom<(key: string) => RateLimit | null>(isFunction, 'must be a function'),
  /** Where Redis connection errors go (the calls that fail throw as well). */
  logger: logger.optional(),
});

export type RedisRateLimiterOptions = z.input<typeof rateLimiterOptionsSchema>;

export function parseOptions<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ValidationError(
    parsed.error.issues.map((issue) => ({
      path: issue.path.filter((part): part is string | number => typeof part !== 'symbol'),
      message: issue.message,
    })),
  );
}
