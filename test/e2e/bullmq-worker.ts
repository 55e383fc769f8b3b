// A worker process of the BullMQ end-to-end stack: the pipeline on PostgreSQL, the Mitto client,
// the Redis limiter, BullMQ workers. Configured by env (E2E_SCHEMA, E2E_PREFIX, E2E_OPTIONS as
// JSON pipeline options, DATABASE_URL, REDIS_URL, MITTO_API_BASE, MITTO_API_KEY); prints `ready`.

import {
  createBullmqTransport,
  createRedisRateLimiter,
  createSmsWorkers,
  installSignalHandlers,
} from '@smsbatch/bullmq-adapter';
import { createSmsPipeline } from '@smsbatch/core';
import { createMittoClient } from '@smsbatch/mitto-client';
import { createPostgresLedger, createPostgresStore } from '@smsbatch/postgres-store';
import pg from 'pg';
import { postgresSuppressionList, withSharedRecordFault } from './shared-controls.js';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const schema = env('E2E_SCHEMA');
const prefix = env('E2E_PREFIX');
const connection = env('REDIS_URL');
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 8 });
pool.on('error', () => {});
const transport = createBullmqTransport({ connection, prefix });
const limiter = createRedisRateLimiter({ connection, prefix, limits: () => null });
const provider = createMittoClient({
  baseUrl: env('MITTO_API_BASE'),
  apiKey: env('MITTO_API_KEY'),
  maxRetries: 0,
});
const pipeline = createSmsPipeline({
  store: withSharedRecordFault(createPostgresStore(pool, { schema }), pool, schema),
  ledger: createPostgresLedger(pool, { schema }),
  provider,
  queue: transport,
  limiter,
  suppression: postgresSuppressionList(pool, schema),
  options: JSON.parse(env('E2E_OPTIONS')),
});
const workers = createSmsWorkers({
  connection,
  prefix,
  pipeline,
  concurrency: 4,
  reconcileEveryMs: 300,
  lockDuration: 5_000,
  stalledInterval: 2_000,
});
installSignalHandlers([workers, transport, limiter, provider, { close: () => pool.end() }]);
await workers.ready();
console.log('ready');
