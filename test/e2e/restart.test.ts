// A worker process killed mid-campaign (SIGKILL) and started again on the same database: the
// campaign finishes with zero duplicates and exact credits. The test process hosts the fake
// Mitto and the delivery-report webhook; the worker processes only send.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createMemoryRateLimiter, createSmsPipeline, type JobQueue } from '@smsbatch/core';
import { createMittoClient } from '@smsbatch/mitto-client';
import { createPostgresLedger, createPostgresStore, migrate } from '@smsbatch/postgres-store';
import { afterAll, expect, it } from 'vitest';
import { expectInvariants, recipients, settled, waitFor } from './scenarios.js';
import { DATABASE_URL, describeWithPostgres, randomName, schemaPool } from './services.js';
import { E2E_OPTIONS, newOwnerId, startFakeWithWebhook } from './support.js';

const CHILD = fileURLToPath(new URL('./worker-child.ts', import.meta.url));

/** This process only produces: the workers find the work through the database. */
const noQueue: JobQueue = { enqueue: async () => {}, isPending: async () => false };

describeWithPostgres('restart', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('finishes a campaign after its worker is SIGKILLed mid-send, without a duplicate', async () => {
    const schema = randomName('restart');
    const { pool, drop } = schemaPool(schema);
    await migrate(pool, { schema });
    const store = createPostgresStore(pool, { schema });
    const ledger = createPostgresLedger(pool, { schema });
    const provider = createMittoClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'unused' });
    const pipeline = createSmsPipeline({
      store,
      ledger,
      provider,
      queue: noQueue,
      limiter: createMemoryRateLimiter({ limits: () => null }),
      options: E2E_OPTIONS,
    });
    const { fake, close: closeFake } = await startFakeWithWebhook(
      (events, raw) => pipeline.receiveDeliveryReports(events, raw),
      { faults: { latencyMs: 40 }, deliveryReports: { delayMs: 50 } },
    );
    const startWorker = async () => {
      const child = spawn(
        process.execPath,
        ['--conditions=@smsbatch/source', '--import', 'tsx', CHILD],
        {
          env: {
            ...process.env,
            DATABASE_URL,
            E2E_SCHEMA: schema,
            MITTO_API_BASE: fake.url,
            MITTO_API_KEY: fake.apiKey,
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      expect(line.toString()).toContain('ready');
      return child;
    };

    const ownerId = newOwnerId();
    await ledger.credit(ownerId, 5_000, `${ownerId}-topup`);
    const campaign = await pipeline.campaigns.create(ownerId, {
      name: 'Restart',
      text: 'Hi {{name}}',
      recipients: recipients(1_000),
    });
    await pipeline.campaigns.enqueue(ownerId, campaign.id);

    const first = await startWorker();
    await waitFor(
      async () => fake.accepted.length,
      (n) => n >= 200,
      'the first worker to send',
      30_000,
    );
    first.kill('SIGKILL');
    await once(first, 'exit');
    const sentBeforeRestart = fake.accepted.length;
    expect(sentBeforeRestart).toBeLessThan(1_000);

    await startWorker();
    const stack = { pipeline, store, ledger, fake };
    const view = await settled(stack, ownerId, campaign.id);
    expect(view).toMatchObject({ status: 'completed', queued: 0, sending: 0, unknown: 0 });
    expect(fake.accepted).toHaveLength(1_000);
    await expectInvariants(stack, ownerId, campaign.id);
    expect(await ledger.balance(ownerId)).toEqual({
      balance: 4_000,
      reserved: 0,
      available: 4_000,
    });

    await closeFake();
    await provider.close();
    await drop();
  }, 90_000);
});
