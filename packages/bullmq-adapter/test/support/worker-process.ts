// A worker process for multi-process tests (this package's and the root end-to-end suite): the
// pipeline on PostgreSQL (store + ledger) + the Mitto client + the Redis limiter + the BullMQ
// transport, run by `createSmsWorkers`. Start it as a child process:
//
//   node --conditions=@smsbatch/source --import tsx packages/bullmq-adapter/test/support/worker-process.ts
//
// Configured by the environment:
// - core's config, read with `loadConfig`: REDIS_URL, DATABASE_URL, MITTO_API_BASE and
//   MITTO_API_KEY (required), and optionally WORKER_CONCURRENCY, QUEUE_RATE_MAX,
//   QUEUE_RATE_DURATION_MS, TRAFFIC_ACCOUNT_RATE_MAX / _DURATION_MS / _OVERRIDES, OWNER_RATE_*,
//   USE_BULK_SMS, SMS_BATCH_SIZE, CREDIT_PRICING, MITTO_SENDER, MITTO_TRAFFIC_ACCOUNT_ID.
// - FIXTURE_SCHEMA: PostgreSQL schema (migrated if needed). Default `smsbatch`.
// - FIXTURE_PREFIX: key prefix of the queues and the limiter. Default `smsbatch`.
// - FIXTURE_PIPELINE: JSON of core PipelineOptions over those the config implies, e.g.
//   `{"leaseMs":3000,"unconfirmedAfterMs":6000,"staleAfterMs":1000}`. The producer side must use
//   the same options (test/support/stack.ts builds both alike).
// - FIXTURE_WORKERS: JSON of createSmsWorkers options (numbers only: lockDuration,
//   stalledInterval, maxStalledCount, reconcileEveryMs, sweepEveryMs, testConcurrency,
//   closeTimeoutMs, retry).
// - FIXTURE_LOG: least level logged to stderr as JSON lines (debug|info|warn|error). Default warn.
//
// Prints `SMSBATCH_WORKER_READY {"pid":<pid>}` on stdout once its workers run. Delivery reports
// are not received here: a worker may be killed, so the test process (or the app server) hosts
// the webhook and calls `pipeline.receiveDeliveryReports`. SIGTERM/SIGINT close gracefully and
// exit 0; SIGKILL is the crash the tests simulate.

import { createSmsWorkers, fromConfig, installSignalHandlers } from '@smsbatch/bullmq-adapter';
import { loadConfig } from '@smsbatch/core';
import { createStderrLogger } from './logger.js';
import { createTestStack } from './stack.js';

const env = process.env;
const level = (env.FIXTURE_LOG ?? 'warn') as 'debug' | 'info' | 'warn' | 'error';
const logger = createStderrLogger(level, { pid: process.pid });
const parseJson = (name: string) => (env[name] ? JSON.parse(env[name]) : {});

const config = loadConfig(env);
const stack = await createTestStack({
  config,
  schema: env.FIXTURE_SCHEMA ?? 'smsbatch',
  prefix: env.FIXTURE_PREFIX ?? 'smsbatch',
  pipeline: parseJson('FIXTURE_PIPELINE'),
  logger,
});
const workers = createSmsWorkers({
  ...fromConfig(config).workers,
  prefix: env.FIXTURE_PREFIX ?? 'smsbatch',
  pipeline: stack.pipeline,
  logger,
  ...parseJson('FIXTURE_WORKERS'),
});
installSignalHandlers([workers, stack], { logger });
await workers.ready();
process.stdout.write(`SMSBATCH_WORKER_READY ${JSON.stringify({ pid: process.pid })}\n`);
