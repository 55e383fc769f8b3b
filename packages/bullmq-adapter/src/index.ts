// Public entry point of @smsbatch/bullmq-adapter: core's JobQueue on BullMQ (the transport), the
// workers that run the pipeline's jobs, the per-traffic-account RateLimiter in Redis, and the
// helpers a worker process needs (config mapping, signal handling).

export { fromConfig, type OptionsFromConfig } from './internal/config.js';
export type { RedisConnection } from './internal/connection.js';
export {
  BullmqAdapterError,
  type BullmqAdapterErrorCode,
  isBullmqAdapterError,
} from './internal/errors.js';
export {
  type BullmqTransportOptions,
  DEFAULT_RETRY,
  type RedisRateLimiterOptions,
  type RetryPolicy,
  type SmsWorkersOptions,
} from './internal/options.js';
export type { JobCounts, QueueCounts } from './internal/queue-set.js';
export { QUEUE_NAMES, QUEUE_OF, type QueueName } from './internal/queues.js';
export { createRedisRateLimiter, type RedisRateLimiter } from './internal/rate-limiter.js';
export { installSignalHandlers, type SignalHandlerOptions } from './internal/signals.js';
export { type BullmqTransport, createBullmqTransport } from './internal/transport.js';
export { createSmsWorkers, type SmsWorkers } from './internal/workers.js';
