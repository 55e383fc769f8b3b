// Maps core's env config (REDIS_URL, WORKER_CONCURRENCY, QUEUE_RATE_*, TRAFFIC_ACCOUNT_RATE_*,
// OWNER_RATE_*) onto this package's options, ready to spread into each factory.

import type { RateLimit } from '@smsbatch/core';
import { rateLimitsFromConfig, type SmsConfig, ValidationError } from '@smsbatch/core';

type RedisConfig = Pick<
  SmsConfig,
  | 'REDIS_URL'
  | 'WORKER_CONCURRENCY'
  | 'QUEUE_RATE_MAX'
  | 'QUEUE_RATE_DURATION_MS'
  | 'TRAFFIC_ACCOUNT_RATE_MAX'
  | 'TRAFFIC_ACCOUNT_RATE_DURATION_MS'
  | 'TRAFFIC_ACCOUNT_RATE_OVERRIDES'
  | 'OWNER_RATE_MAX'
  | 'OWNER_RATE_DURATION_MS'
>;

export interface OptionsFromConfig {
  transport: { connection: string };
  limiter: { connection: string; limits: (key: string) => RateLimit | null };
  workers: {
    connection: string;
    concurrency: number;
    queueRateLimit: { max: number; duration: number };
  };
}

/**
 * `createBullmqTransport(transport)`, `createRedisRateLimiter(limiter)` and
 * `createSmsWorkers({ ...workers, handleJob })`. Throws a ValidationError without REDIS_URL.
 */
export function fromConfig(config: RedisConfig): OptionsFromConfig {
  const connection = config.REDIS_URL;
  if (!connection) {
    throw new ValidationError([{ path: ['REDIS_URL'], message: 'is required for BullMQ' }]);
  }
  return {
    transport: { connection },
    limiter: { connection, limits: rateLimitsFromConfig(config) },
    workers: {
      connection,
      concurrency: config.WORKER_CONCURRENCY,
      queueRateLimit: { max: config.QUEUE_RATE_MAX, duration: config.QUEUE_RATE_DURATION_MS },
    },
  };
}
