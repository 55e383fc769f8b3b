// The pipeline on PostgreSQL + Mitto + BullMQ + the Redis limiter, built the same way in a worker
// process (worker-process.ts) and in a test's own process (the producer side: create, enqueue,
// receive delivery reports), so both sides always run with the same options.

import { createBullmqTransport, createRedisRateLimiter } from '@smsbatch/bullmq-adapter';
import {
  type CampaignStore,
  type CreditLedger,
  createSmsPipeline,
  type Logger,
  type PipelineOptions,
  pipelineOptionsFromConfig,
  rateLimitsFromConfig,
  type SmsConfig,
  type SmsPipeline,
} from '@smsbatch/core';
import { createMittoClient } from '@smsbatch/mitto-client';
import { createPostgresLedger, createPostgresStore, migrate } from '@smsbatch/postgres-store';
import pg from 'pg';

export interface TestStackSettings {
  config: SmsConfig;
  /** PostgreSQL schema of the store and ledger (migrated here when needed). */
  schema: string;
  /** Key prefix of the BullMQ queues and the limiter. */
  prefix: string;
  /** Pipeline options over those the config implies (leases, windows, ...). */
  pipeline?: PipelineOptions;
  logger: Logger;
}

export interface TestStack {
  pipeline: SmsPipeline;
  store: CampaignStore;
  ledger: CreditLedger;
  close(): Promise<void>;
}

export async function createTestStack(settings: TestStackSettings): Promise<TestStack> {
  const { config, schema, prefix, logger } = settings;
  if (
    !config.REDIS_URL ||
    !config.DATABASE_URL ||
    !config.MITTO_API_BASE ||
    !config.MITTO_API_KEY
  ) {
    throw new Error('REDIS_URL, DATABASE_URL, MITTO_API_BASE and MITTO_API_KEY are required');
  }
  const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 10 });
  pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL client failed'));
  await migrate(pool, { schema });
  const provider = createMittoClient({
    baseUrl: config.MITTO_API_BASE,
    apiKey: config.MITTO_API_KEY,
    logger,
  });
  const transport = createBullmqTransport({ connection: config.REDIS_URL, prefix, logger });
  const limiter = createRedisRateLimiter({
    connection: config.REDIS_URL,
    prefix,
    limits: rateLimitsFromConfig(config),
    logger,
  });
  const store = createPostgresStore(pool, { schema });
  const ledger = createPostgresLedger(pool, { schema });
  const pipeline = createSmsPipeline({
    store,
    ledger,
    provider,
    queue: transport,
    limiter,
    logger,
    options: pipelineOptionsFromConfig(config, settings.pipeline),
  });
  return {
    pipeline,
    store,
    ledger,
    async close() {
      await transport.close();
      await limiter.close();
      await provider.close();
      await pool.end();
    },
  };
}
