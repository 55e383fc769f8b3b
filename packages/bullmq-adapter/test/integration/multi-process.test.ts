// The production shape: several worker processes sharing one Redis and one PostgreSQL, against a
// fake Mitto on loopback. No duplicate reaches the provider and credits stay exact with two
// workers, under per-account limits with three, with a worker SIGKILLed mid-batch, and after
// Redis lost all its data. The scenarios run one after another (one file) so that the rate
// measurement does not share the two cores with another cluster.

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import {
  acceptedOf,
  expectBalance,
  expectExactCredits,
  expectNoDuplicates,
  startCampaign,
  waitSettled,
} from '../support/campaigns.js';
import { type Cluster, GRANTED, OWNER, startCluster } from '../support/cluster.js';
import { describeServices, REDIS_URL } from '../support/services.js';
import { sleep, waitFor } from '../support/wait.js';

const SCENARIO_TIMEOUT_MS = 90_000;

/** Names of the worker processes that completed jobs of the bulk queue. */
async function bulkWorkerNames(cluster: Cluster): Promise<Set<string>> {
  const queue = new Queue('bulk', {
    connection: { url: cluster.redisUrl },
    prefix: cluster.prefix,
  });
  try {
    const jobs = await queue.getCompleted(0, 1_000);
    return new Set(jobs.map((job) => job.processedBy ?? 'unknown'));
  } finally {
    await queue.close();
  }
}

/** Accepted messages per second for one traffic account, past the budget's first full window. */
function steadyRate(cluster: Cluster, trafficAccountId: string, burst: number) {
  const times = cluster.fake.accepted
    .filter((message) => message.trafficAccountId === trafficAccountId)
    .map((message) => message.at);
  const spanMs = Math.max(...times) - Math.min(...times);
  return { count: times.length, spanMs, perSecond: ((times.length - burst) * 1000) / spanMs };
}

describeServices('several worker processes', () => {
  let cluster: Cluster | null = null;
  afterEach(async (context) => {
    if (context.task.result?.state === 'fail' && cluster) console.error(cluster.logs());
    await cluster?.stop();
    cluster = null;
  });

  it(
    'two workers send a 20,000-message campaign once each, with exact credits, while a small campaign and test sends go through',
    async () => {
      cluster = await startCluster({
        workers: 2,
        // The big campaign is held to 4,000/s so that it is still sending while we measure.
        env: { TRAFFIC_ACCOUNT_RATE_OVERRIDES: JSON.stringify({ big: { max: 4_000 } }) },
      });
      const { pipeline, store, ledger } = cluster.producer;
      const big = await startCampaign(pipeline, {
        ownerId: OWNER,
        name: 'big',
        count: 20_000,
        trafficAccountId: 'big',
      });
      const fake = cluster.fake;
      await waitFor(() => acceptedOf(fake, big).length >= 2_000, 'the big campaign to be sending');

      const smallStartedAt = Date.now();
      const small = await startCampaign(pipeline, {
        ownerId: OWNER,
        name: 'small',
        count: 300,
        trafficAccountId: 'small',
        from: 100_000,
      });

      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const sentAt = Date.now();
        const { id } = await pipeline.messages.sendTest(OWNER, {
          to: `+30699900000${i}`,
          text: `Test send ${i}`,
          sender: 'Shop',
          trafficAccountId: 'small',
        });
        await waitFor(
          async () => (await store.getMessage(id))?.status === 'sent',
          `test send ${i}`,
          { intervalMs: 5, timeoutMs: 10_000 },
        );
        latencies.push(Date.now() - sentAt);
        await sleep(100);
      }
      const smallStatus = await waitSettled(pipeline, OWNER, small);
      const smallTookMs = Date.now() - smallStartedAt;
      const bigWhenSmallDone = acceptedOf(fake, big).length;

      const bigStatus = await waitSettled(pipeline, OWNER, big);
      console.info(
        `test-send latency ms: ${latencies.join(', ')}; small campaign settled in ${smallTookMs} ms ` +
          `with the big one at ${bigWhenSmallDone}/20000`,
      );
      expect(Math.max(...latencies)).toBeLessThan(5_000);
      expect(bigWhenSmallDone).toBeLessThan(20_000);
      expect(smallStatus.status).toBe('completed');
      expect(bigStatus.status).toBe('completed');
      expect(acceptedOf(fake, big)).toHaveLength(20_000);
      expectNoDuplicates(fake);
      expectExactCredits(bigStatus, fake);
      expectExactCredits(smallStatus, fake);
      // Campaigns and test sends together: everything accepted was charged, nothing stays held.
      await expectBalance(ledger, OWNER, GRANTED, fake.accepted.length);
      expect((await bulkWorkerNames(cluster)).size).toBe(2);
      // SIGTERM: a graceful close, then exit 0.
      expect(await Promise.all(cluster.workers.map((worker) => worker.stop()))).toEqual([0, 0]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'three workers hold each traffic account to its own limit, and leave an unlimited one alone',
    async () => {
      const limits = { a: 500, b: 200 };
      cluster = await startCluster({
        workers: 3,
        env: {
          SMS_BATCH_SIZE: '100',
          TRAFFIC_ACCOUNT_RATE_OVERRIDES: JSON.stringify({
            a: { max: limits.a, durationMs: 1_000 },
            b: { max: limits.b, durationMs: 1_000 },
          }),
          // Every wake-up of a rate-limited batch is a job run: leave the queue-wide cap out of it.
          QUEUE_RATE_MAX: '1000',
        },
      });
      const { pipeline } = cluster.producer;
      // About 6 s of sending each, after the first full window passes at once.
      const campaigns = await Promise.all([
        startCampaign(pipeline, { ownerId: OWNER, name: 'a', count: 3_500, trafficAccountId: 'a' }),
        startCampaign(pipeline, {
          ownerId: OWNER,
          name: 'b',
          count: 1_400,
          trafficAccountId: 'b',
          from: 10_000,
        }),
        startCampaign(pipeline, {
          ownerId: OWNER,
          name: 'free',
          count: 3_000,
          trafficAccountId: 'free',
          from: 20_000,
        }),
      ]);
      const [a, b, free] = campaigns;
      const freeStatus = await waitSettled(pipeline, OWNER, free!);
      const limitedWhenFreeDone = [a!, b!].map((id) => acceptedOf(cluster!.fake, id).length);
      const statuses = await Promise.all([a!, b!].map((id) => waitSettled(pipeline, OWNER, id)));

      const rateA = steadyRate(cluster, 'a', limits.a);
      const rateB = steadyRate(cluster, 'b', limits.b);
      const rateFree = steadyRate(cluster, 'free', 0);
      console.info(
        `achieved rates (msg/s): a ${rateA.perSecond.toFixed(1)} (limit ${limits.a}), ` +
          `b ${rateB.perSecond.toFixed(1)} (limit ${limits.b}), free ${rateFree.perSecond.toFixed(0)} ` +
          `(no limit, ${rateFree.count} in ${rateFree.spanMs} ms)`,
      );
      expect(rateA.perSecond).toBeGreaterThan(limits.a * 0.9);
      expect(rateA.perSecond).toBeLessThan(limits.a * 1.1);
      expect(rateB.perSecond).toBeGreaterThan(limits.b * 0.9);
      expect(rateB.perSecond).toBeLessThan(limits.b * 1.1);
      // The unlimited account finished while both limited ones were still sending.
      expect(limitedWhenFreeDone[0]).toBeLessThan(3_500);
      expect(limitedWhenFreeDone[1]).toBeLessThan(1_400);
      // Well above any limit even on a loaded 2-core machine (the benchmark measures it properly).
      expect(rateFree.perSecond).toBeGreaterThan(2 * limits.a);
      for (const status of [freeStatus, ...statuses]) expectExactCredits(status, cluster.fake);
      expectNoDuplicates(cluster.fake);
      expect((await bulkWorkerNames(cluster)).size).toBe(3);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'a worker SIGKILLed mid-batch causes no duplicate, and the campaign still settles',
    async () => {
      // One worker first, so the batches in flight at the kill are certainly its own.
      cluster = await startCluster({
        workers: 1,
        deliveryReports: true,
        fake: { faults: { latencyMs: 600 } },
        env: { SMS_BATCH_SIZE: '100' },
        // Short lease and windows so the scenario settles in seconds (defaults: minutes, hours).
        pipeline: {
          leaseMs: 3_000,
          unconfirmedAfterMs: 5_000,
          staleAfterMs: 1_500,
          pendingEventRetryMs: 300,
        },
        workerOptions: { reconcileEveryMs: 500, lockDuration: 3_000, stalledInterval: 1_000 },
      });
      const { fake, producer } = cluster;
      const id = await startCampaign(producer.pipeline, {
        ownerId: OWNER,
        name: 'crash',
        count: 3_000,
        trafficAccountId: 'crash',
      });
      // Requests count on arrival, send requests once answered (after the latency).
      const inFlight = () => fake.stats().requests - fake.stats().sendRequests;
      await waitFor(
        () => acceptedOf(fake, id).length >= 300 && inFlight() >= 3,
        'batches in flight after some were answered',
      );
      const [victim] = cluster.workers;
      const inFlightAtKill = inFlight();
      const acceptedAtKill = acceptedOf(fake, id).length;
      victim!.child.kill('SIGKILL');
      await victim!.exited;
      await cluster.addWorker();

      const status = await waitSettled(producer.pipeline, OWNER, id, 60_000);
      console.info(
        `killed with ${inFlightAtKill} bulk requests in flight and ${acceptedAtKill}/3000 accepted; ` +
          `settled ${status.status}: sent ${status.sent}, delivered ${status.delivered}, failed ${status.failed}`,
      );
      expect(victim!.child.signalCode).toBe('SIGKILL');
      expect(status.status).toBe('completed');
      expectNoDuplicates(fake);
      // Batches the fake took from the dead worker were settled by their delivery reports, never
      // sent again; batches it had claimed but not sent went `unknown`, then `failed`
      // (unconfirmed) and uncharged. Nothing else failed.
      const accepted = acceptedOf(fake, id);
      expect(status.failed).toBe(3_000 - accepted.length);
      expect(status.failed).toBeLessThanOrEqual(5 * 100);
      const failed = await producer.store.listMessages(id, { status: 'failed', limit: 1_000 });
      const acceptedIds = new Set(accepted.map((message) => message.reference));
      for (const message of failed.items) {
        expect(message.error).toBe('unconfirmed');
        expect(acceptedIds.has(message.id)).toBe(false);
      }
      expectExactCredits(status, fake);
      await expectBalance(producer.ledger, OWNER, GRANTED, accepted.length);
      expect(cluster.dlr?.received()).toBeGreaterThan(0);
      expect(cluster.dlr?.errors()).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    'a Redis that lost all its data mid-campaign is recovered from the store, with no duplicate',
    async () => {
      // FLUSHDB on a database of its own: FLUSHALL would also wipe the queues of the test files
      // running beside this one. For this deployment the loss is the same.
      const redisUrl = new URL(REDIS_URL);
      redisUrl.pathname = `/${process.env.FLUSH_TEST_REDIS_DB ?? '9'}`;
      cluster = await startCluster({
        workers: 2,
        redisUrl: redisUrl.toString(),
        fake: { faults: { latencyMs: 100 } },
        env: {
          SMS_BATCH_SIZE: '100',
          TRAFFIC_ACCOUNT_RATE_OVERRIDES: JSON.stringify({ flush: { max: 1_000 } }),
        },
        pipeline: { staleAfterMs: 1_000, leaseMs: 3_000 },
        workerOptions: { reconcileEveryMs: 500 },
      });
      const { fake, producer } = cluster;
      const id = await startCampaign(producer.pipeline, {
        ownerId: OWNER,
        name: 'flush',
        count: 5_000,
        trafficAccountId: 'flush',
      });
      await waitFor(() => acceptedOf(fake, id).length >= 1_500, 'the campaign to be sending');
      const redis = new Redis(redisUrl.toString());
      await redis.flushdb();
      const acceptedAtFlush = acceptedOf(fake, id).length;
      redis.disconnect();

      const status = await waitSettled(producer.pipeline, OWNER, id, 60_000);
      console.info(`flushed Redis at ${acceptedAtFlush}/5000 accepted; settled ${status.status}`);
      expect(acceptedAtFlush).toBeLessThan(5_000);
      expectNoDuplicates(fake);
      expect(acceptedOf(fake, id)).toHaveLength(5_000);
      expect(status.status).toBe('completed');
      expectExactCredits(status, fake);
    },
    SCENARIO_TIMEOUT_MS,
  );
});
