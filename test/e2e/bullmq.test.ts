// The scenarios with BullMQ on Redis, the store and ledger on PostgreSQL, and two worker
// processes (child processes). The test process only produces: it creates and enqueues campaigns
// and hosts the delivery-report webhook.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createBullmqTransport } from '@smsbatch/bullmq-adapter';
import { createMemorySubscriptionGuard, createSmsPipeline, type SmsPipeline } from '@smsbatch/core';
import { createMittoClient } from '@smsbatch/mitto-client';
import { createPostgresLedger, createPostgresStore, migrate } from '@smsbatch/postgres-store';
import { describeScenarios } from './scenarios.js';
import {
  DATABASE_URL,
  describeWithPostgres,
  describeWithRedis,
  REDIS_URL,
  randomName,
  schemaPool,
} from './services.js';
import { armRecordFault, createControlTables, postgresSuppressionList } from './shared-controls.js';
import { E2E_OPTIONS, type StackFactory, startFakeWithWebhook } from './support.js';

const WORKER = fileURLToPath(new URL('./bullmq-worker.ts', import.meta.url));
const WORKER_PROCESSES = 2;

const bullmqStack: StackFactory = async (setup) => {
  const schema = randomName('e2e');
  const prefix = randomName('e2e');
  const { pool, drop } = schemaPool(schema);
  await migrate(pool, { schema });
  await createControlTables(pool, schema);
  const options = { ...E2E_OPTIONS, ...setup.options };
  const transport = createBullmqTransport({ connection: REDIS_URL, prefix });
  const subscription = createMemorySubscriptionGuard();
  const suppression = postgresSuppressionList(pool, schema);
  const store = createPostgresStore(pool, { schema });
  const ledger = createPostgresLedger(pool, { schema });
  const idle = createMittoClient({
    baseUrl: 'http://127.0.0.1:9',
    apiKey: 'producer-sends-nothing',
  });
  let pipeline: SmsPipeline | null = null;
  const { fake, close: closeFake } = await startFakeWithWebhook(
    (events, raw) => pipeline!.receiveDeliveryReports(events, raw),
    setup.fake,
  );
  pipeline = createSmsPipeline({
    store,
    ledger,
    provider: idle,
    queue: transport,
    subscription,
    suppression,
    options,
  });
  const children: ChildProcess[] = [];
  for (let i = 0; i < WORKER_PROCESSES; i++) {
    const child = spawn(
      process.execPath,
      ['--conditions=@smsbatch/source', '--import', 'tsx', WORKER],
      {
        env: {
          ...process.env,
          DATABASE_URL,
          REDIS_URL,
          E2E_SCHEMA: schema,
          E2E_PREFIX: prefix,
          E2E_OPTIONS: JSON.stringify(options),
          MITTO_API_BASE: fake.url,
          MITTO_API_KEY: fake.apiKey,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    if (!line.toString().includes('ready')) throw new Error(`worker did not start: ${line}`);
  }
  return {
    pipeline,
    store,
    ledger,
    fake,
    suppress: (ownerId, phones) => suppression.add(ownerId, phones),
    setSubscription: async (ownerId, isActive) =>
      subscription.setActive(ownerId, isActive, 'unpaid'),
    failNextRecord: () => armRecordFault(pool, schema),
    async close() {
      await Promise.all(
        children.map(async (child) => {
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          await exited;
        }),
      );
      await transport.close();
      await closeFake();
      await idle.close();
      await drop();
    },
  };
};

describeWithPostgres('PostgreSQL', () => {
  describeWithRedis('Redis', () => {
    describeScenarios(`BullMQ with ${WORKER_PROCESSES} worker processes, PostgreSQL`, bullmqStack);
  });
});
