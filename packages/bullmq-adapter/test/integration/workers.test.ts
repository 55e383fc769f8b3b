// The consumer side: how outcomes map onto BullMQ (delay is not an attempt and frees the slot,
// errors retry per kind with backoff), the separate test-send queue, the queue-wide limit, the
// maintenance schedulers surviving lost data, shutdown, metrics and option checks.

import { createSmsWorkers } from '@smsbatch/bullmq-adapter';
import { type Job, type JobSpec, ValidationError } from '@smsbatch/core';
import { expect, it } from 'vitest';
import { deferred, recordingMetrics, useQueues } from '../support/harness.js';
import { deleteKeys, describeRedis, REDIS_URL } from '../support/services.js';
import { waitFor } from '../support/wait.js';

const batch = (batchNo: number): JobSpec => ({
  kind: 'batch',
  id: `batch-c1-${batchNo}-r0`,
  data: { campaignId: 'c1', batchNo },
});
const batchNoOf = (job: Job) => (job.data as { batchNo: number }).batchNo;

describeRedis('createSmsWorkers', () => {
  const queues = useQueues();

  it('runs a delayed job again later as the same attempt, without holding its slot', async () => {
    const transport = queues.transport();
    const runs: { batchNo: number; attempt: number; at: number }[] = [];
    await queues.workers(
      async (job) => {
        runs.push({ batchNo: batchNoOf(job), attempt: job.attempt, at: Date.now() });
        const isFirstRunOfZero =
          batchNoOf(job) === 0 && runs.filter((r) => r.batchNo === 0).length === 1;
        return isFirstRunOfZero
          ? { status: 'delay', delayMs: 600, reason: 'rate limit' }
          : { status: 'done' };
      },
      { concurrency: 1 },
    );
    const start = Date.now();
    await transport.enqueue([batch(0), batch(1)]);
    await waitFor(() => runs.length === 3, 'three runs');
    const zero = runs.filter((r) => r.batchNo === 0);
    expect(zero.map((r) => r.attempt)).toEqual([1, 1]);
    expect(zero[1]!.at - start).toBeGreaterThanOrEqual(550);
    // With one slot, batch 1 ran while batch 0 waited out its delay.
    expect(runs.map((r) => r.batchNo)).toEqual([0, 1, 0]);
  });

  it("retries a failing job with backoff up to its kind's attempts, then fails it", async () => {
    const transport = queues.transport();
    const { metrics, counters, key } = recordingMetrics();
    const attempts: number[] = [];
    const times: number[] = [];
    await queues.workers(
      async (job) => {
        attempts.push(job.attempt);
        times.push(Date.now());
        throw new Error('store down');
      },
      { retry: { batch: { attempts: 3, baseMs: 200, maxMs: 300 } }, metrics },
    );
    await transport.enqueue([batch(7)]);
    await waitFor(() => counters.get(key('queue_jobs_failed', { kind: 'batch' })), 'the failure');
    expect(attempts).toEqual([1, 2, 3]);
    expect(counters.get(key('queue_jobs_retried', { kind: 'batch' }))).toBe(2);
    // Full jitter stays under min(maxMs, baseMs * 2^(n-1)): 200 ms, then 300 ms (plus the time
    // BullMQ takes to promote a delayed job on a busy machine).
    expect(times[1]! - times[0]!).toBeLessThan(200 + 400);
    expect(times[2]! - times[1]!).toBeLessThan(300 + 400);
    expect(await transport.isPending('batch-c1-7-r0')).toBe(false);
    expect((await transport.getQueueCounts()).bulk.failed).toBe(1);
  });

  it('runs test sends on their own workers while the bulk queue is saturated', async () => {
    const transport = queues.transport();
    const release = deferred();
    let testRanAt = 0;
    await queues.workers(
      async (job) => {
        if (job.kind === 'test') testRanAt = Date.now();
        else await release.promise;
        return { status: 'done' };
      },
      { concurrency: 2 },
    );
    await transport.enqueue(Array.from({ length: 20 }, (_, i) => batch(i)));
    const sentAt = Date.now();
    await transport.enqueue([{ kind: 'test', id: 'test-t1', data: { messageId: 't1' } }]);
    await waitFor(() => testRanAt, 'the test send');
    expect(testRanAt - sentAt).toBeLessThan(1_000);
    expect((await transport.getQueueCounts()).bulk.active).toBe(2);
    release.resolve();
  });

  it('holds the bulk queue to QUEUE_RATE_MAX jobs per QUEUE_RATE_DURATION_MS', async () => {
    const transport = queues.transport();
    const starts: number[] = [];
    await queues.workers(
      async () => {
        starts.push(Date.now());
        return { status: 'done' };
      },
      { concurrency: 5, queueRateLimit: { max: 2, duration: 500 } },
    );
    await transport.enqueue(Array.from({ length: 5 }, (_, i) => batch(i)));
    await waitFor(() => starts.length === 5, 'five jobs');
    // Five jobs at two per window need a third window.
    expect(starts[4]! - starts[0]!).toBeGreaterThanOrEqual(900);
  });

  it('keeps the reconcile and sweep schedulers running, even after Redis lost their data', async () => {
    const seen: Job[] = [];
    await queues.workers(
      async (job) => {
        seen.push(job);
        return { status: 'done' };
      },
      { reconcileEveryMs: 300, sweepEveryMs: 400 },
      { seesSchedulers: true },
    );
    await waitFor(() => seen.filter((job) => job.kind === 'reconcile').length >= 2, 'reconciles');
    await waitFor(() => seen.some((job) => job.kind === 'refresh'), 'a status sweep');
    expect(seen.find((job) => job.kind === 'refresh')?.data).toEqual({});

    await deleteKeys(queues.prefix);
    const lostAt = Date.now();
    const before = seen.length;
    await waitFor(
      () => seen.slice(before).some((job) => job.kind === 'reconcile'),
      'reconciles after the data loss',
      { timeoutMs: 5_000 },
    );
    expect(Date.now() - lostAt).toBeLessThan(3_000);
  });

  it('on close, waits for running jobs, and releases them to other workers past the timeout', async () => {
    const transport = queues.transport();
    const stuck = deferred();
    const runs: number[] = [];
    const first = await queues.workers(
      async (job) => {
        runs.push(batchNoOf(job));
        if (batchNoOf(job) === 1) await stuck.promise;
        return { status: 'done' };
      },
      { closeTimeoutMs: 300 },
    );
    await transport.enqueue([batch(1)]);
    await waitFor(() => runs.length === 1, 'the job to start');
    const closedAt = Date.now();
    await first.close();
    expect(Date.now() - closedAt).toBeLessThan(2_000);
    expect(await transport.isPending('batch-c1-1-r0')).toBe(true);
    expect((await transport.getQueueCounts()).bulk).toMatchObject({ waiting: 1, active: 0 });

    const rerun = deferred();
    await queues.workers(async (job) => {
      if (batchNoOf(job) === 1) rerun.resolve();
      return { status: 'done' };
    });
    await rerun.promise;
    stuck.resolve();
  });

  it('publishes queue counts as gauges', async () => {
    const transport = queues.transport();
    const { metrics, gauges, key } = recordingMetrics();
    await transport.enqueue([{ ...batch(3), delayMs: 60_000 }]);
    await queues.workers(async () => ({ status: 'done' }), { metrics, metricsEveryMs: 100 });
    await waitFor(
      () => gauges.get(key('queue_jobs', { queue: 'bulk', state: 'delayed' })) === 1,
      'the delayed gauge',
    );
    expect(gauges.get(key('queue_jobs', { queue: 'test', state: 'waiting' }))).toBe(0);
  });

  it('refuses bad options with a ValidationError naming the field', () => {
    const handleJob = async () => ({ status: 'done' as const });
    expect(() => createSmsWorkers({ connection: REDIS_URL, handleJob, concurrency: 0 })).toThrow(
      ValidationError,
    );
    expect(() =>
      createSmsWorkers({ connection: REDIS_URL, handleJob, pipeline: { handleJob } }),
    ).toThrow(/handleJob: give exactly one of handleJob and pipeline/);
    expect(() =>
      createSmsWorkers({ connection: REDIS_URL, handleJob, lockDurationMs: 5 } as never),
    ).toThrow(/lockDurationMs/);
  });
});
