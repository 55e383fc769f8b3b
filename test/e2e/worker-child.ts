// A worker process for the restart test: the pipeline on PostgreSQL with an in-process queue,
// sending through the fake Mitto of the test process. It starts no campaign itself: its
// reconciler finds what the database says is unfinished and enqueues the work, exactly as a
// restarted worker does. Configured by env: DATABASE_URL, E2E_SCHEMA, MITTO_API_BASE,
// MITTO_API_KEY. Prints `ready` once it runs.

import { createMemoryQueue, createSmsPipeline } from '@smsbatch/core';
import { createMittoClient } from '@smsbatch/mitto-client';
import { createPostgresLedger, createPostgresStore } from '@smsbatch/postgres-store';
import pg from 'pg';
import { E2E_OPTIONS } from './support.js';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const schema = env('E2E_SCHEMA');
const pool = new pg.Pool({ connectionString: env('DATABASE_URL'), max: 6 });
pool.on('error', () => {});
const queue = createMemoryQueue({ concurrency: 4, backoff: { baseMs: 10, maxMs: 100 } });
const pipeline = createSmsPipeline({
  store: createPostgresStore(pool, { schema }),
  ledger: createPostgresLedger(pool, { schema }),
  provider: createMittoClient({
    baseUrl: env('MITTO_API_BASE'),
    apiKey: env('MITTO_API_KEY'),
    maxRetries: 0,
  }),
  queue,
  options: { ...E2E_OPTIONS, batchSize: 20, batchWindow: 2, leaseMs: 1_500 },
});
queue.process(pipeline.handleJob);
const tick = () => pipeline.reconcile().catch((error) => console.error('reconcile failed', error));
await tick();
setInterval(tick, 250);
console.log('ready');
