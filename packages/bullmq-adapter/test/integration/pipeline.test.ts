// Core's pipeline on BullMQ and the Redis limiter, in one process (in-memory store, fake Mitto on
// loopback): what a user sees of queue behaviour. An over-budget account waits without blocking
// others, a small campaign is not stuck behind a big one, and pause, resume and cancel of one
// campaign leave the others running.

import { type BullmqTransport, createRedisRateLimiter } from '@smsbatch/bullmq-adapter';
import {
  createMemoryLedger,
  createMemoryStore,
  createSmsPipeline,
  type PipelineOptions,
  type RateLimit,
  type SmsPipeline,
} from '@smsbatch/core';
import { createMittoClient } from '@smsbatch/mitto-client';
import {
  type FakeMitto,
  type FakeMittoOptions,
  startFakeMitto,
} from '@smsbatch/mitto-client/testing';
import { afterEach, expect, it } from 'vitest';
import {
  acceptedOf,
  expectExactCredits,
  expectNoDuplicates,
  startCampaign,
  waitSettled,
} from '../support/campaigns.js';
import { useQueues } from '../support/harness.js';
import { describeRedis, REDIS_URL } from '../support/services.js';
import { sleep, waitFor } from '../support/wait.js';

const OWNER = 'owner-1';

describeRedis('the pipeline on BullMQ', () => {
  const queues = useQueues();
  let closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.reverse()) await close();
    closers = [];
  });

  async function setUp(settings: {
    limits?: Record<string, RateLimit>;
    fake?: FakeMittoOptions;
    concurrency: number;
    pipeline?: PipelineOptions;
  }): Promise<{ pipeline: SmsPipeline; fake: FakeMitto; transport: BullmqTransport }> {
    const fake = await startFakeMitto(settings.fake);
    const provider = createMittoClient({ baseUrl: fake.url, apiKey: fake.apiKey });
    const limits = settings.limits ?? {};
    const limiter = createRedisRateLimiter({
      connection: REDIS_URL,
      prefix: queues.prefix,
      limits: (key) => limits[key] ?? null,
    });
    closers.push(
      () => fake.close(),
      () => provider.close(),
      () => limiter.close(),
    );
    const ledger = createMemoryLedger();
    await ledger.credit(OWNER, 1_000_000, 'grant');
    const transport = queues.transport();
    const pipeline = createSmsPipeline({
      store: createMemoryStore(),
      ledger,
      provider,
      queue: transport,
      limiter,
      options: settings.pipeline,
    });
    await queues.workers(pipeline.handleJob, { concurrency: settings.concurrency });
    return { pipeline, fake, transport };
  }

  it('delays an over-budget account without holding up an unlimited one', async () => {
    const { pipeline, fake } = await setUp({
      limits: { 'ta-slow': { max: 100, durationMs: 1_000 } },
      concurrency: 1,
      pipeline: { batchSize: 50 },
    });
    const slow = await startCampaign(pipeline, {
      ownerId: OWNER,
      name: 'slow',
      count: 400,
      trafficAccountId: 'slow',
    });
    await waitFor(() => acceptedOf(fake, slow).length >= 100, 'the slow account to use its budget');
    const startedAt = Date.now();
    const fast = await startCampaign(pipeline, {
      ownerId: OWNER,
      name: 'fast',
      count: 500,
      trafficAccountId: 'fast',
      from: 1_000,
    });
    const fastStatus = await waitSettled(pipeline, OWNER, fast);
    // One worker slot: a rate limit that blocked the slot would make this wait for the slow
    // campaign (3 s more).
    expect(Date.now() - startedAt).toBeLessThan(2_500);
    expect(fastStatus.status).toBe('completed');
    expect((await pipeline.campaigns.status(OWNER, slow)).finishedAt).toBeNull();

    const slowStatus = await waitSettled(pipeline, OWNER, slow);
    expectExactCredits(slowStatus, fake);
    expectExactCredits(fastStatus, fake);
    expectNoDuplicates(fake);
  });

  it('starts a small campaign within seconds while a big one saturates the workers', async () => {
    const { pipeline, fake } = await setUp({
      fake: { faults: { latencyMs: 100 } },
      concurrency: 2,
      pipeline: { batchSize: 100 },
    });
    const big = await startCampaign(pipeline, {
      ownerId: OWNER,
      name: 'big',
      count: 8_000,
      trafficAccountId: 'shared',
    });
    await waitFor(() => acceptedOf(fake, big).length >= 500, 'the big campaign to be sending');
    const startedAt = Date.now();
    const small = await startCampaign(pipeline, {
      ownerId: OWNER,
      name: 'small',
      count: 150,
      trafficAccountId: 'shared',
      from: 10_000,
    });
    const smallStatus = await waitSettled(pipeline, OWNER, small);
    const smallTookMs = Date.now() - startedAt;
    const bigSentMeanwhile = acceptedOf(fake, big).length;
    // 80 batches of 100 at 100 ms over 2 slots take 4 s; the small one waits only for the big
    // one's window (8 batches), not for all of it.
    expect(smallTookMs).toBeLessThan(2_500);
    expect(bigSentMeanwhile).toBeLessThan(8_000);
    console.info(
      `small campaign settled ${smallTookMs} ms after enqueue, big one at ${bigSentMeanwhile}/8000`,
    );
    expectExactCredits(smallStatus, fake);
    expectExactCredits(await waitSettled(pipeline, OWNER, big), fake);
    expectNoDuplicates(fake);
  });

  it('pauses, resumes and cancels one campaign while the others go on', async () => {
    const { pipeline, fake } = await setUp({
      limits: {
        'ta-paused': { max: 300, durationMs: 1_000 },
        'ta-cancelled': { max: 300, durationMs: 1_000 },
      },
      concurrency: 2,
      pipeline: { batchSize: 50 },
    });
    const paused = await startCampaign(pipeline, {
      ownerId: OWNER,
      name: 'paused',
      count: 900,
      trafficAccountId: 'paused',
    });
    const cancelled = await startCampaign(pipeline, {
      ownerId: OWNER,
      name: 'cancelled',
      count: 900,
      trafficAccountId: 'cancelled',
      from: 1_000,
    });
    await waitFor(
      () => acceptedOf(fake, paused).length >= 300 && acceptedOf(fake, cancelled).length >= 300,
      'both campaigns to be sending',
    );
    await pipeline.campaigns.pause(OWNER, paused);
    await pipeline.campaigns.cancel(OWNER, cancelled);
    const other = await startCampaign(pipeline, {
      ownerId: OWNER,
      name: 'other',
      count: 600,
      trafficAccountId: 'other',
      from: 2_000,
    });
    const otherStatus = await waitSettled(pipeline, OWNER, other, 10_000);
    expect(otherStatus.status).toBe('completed');

    const cancelledStatus = await waitSettled(pipeline, OWNER, cancelled);
    expect(cancelledStatus.status).toBe('cancelled');
    expect(cancelledStatus.cancelled).toBeGreaterThan(0);
    expectExactCredits(cancelledStatus, fake);

    // Batches in flight at the pause finish; after that nothing of the paused campaign goes out.
    await sleep(300);
    const sentWhilePaused = acceptedOf(fake, paused).length;
    await sleep(700);
    expect(acceptedOf(fake, paused)).toHaveLength(sentWhilePaused);
    expect((await pipeline.campaigns.status(OWNER, paused)).status).toBe('paused');

    await pipeline.campaigns.resume(OWNER, paused);
    const pausedStatus = await waitSettled(pipeline, OWNER, paused);
    expect(pausedStatus.status).toBe('completed');
    expect(acceptedOf(fake, paused)).toHaveLength(900);
    expectExactCredits(pausedStatus, fake);
    expectNoDuplicates(fake);
  });

  it('sends one job per message on the single queue when USE_BULK_SMS is false', async () => {
    const { pipeline, fake, transport } = await setUp({
      concurrency: 5,
      pipeline: { useBulk: false },
    });
    const id = await startCampaign(pipeline, {
      ownerId: OWNER,
      name: 'one-by-one',
      count: 120,
      trafficAccountId: 'one',
    });
    const status = await waitSettled(pipeline, OWNER, id);
    expect(status.status).toBe('completed');
    expect(acceptedOf(fake, id).every((message) => message.bulkId === null)).toBe(true);
    expect((await transport.getQueueCounts()).single.completed).toBe(120);
    expectExactCredits(status, fake);
    expectNoDuplicates(fake);
  });
});
