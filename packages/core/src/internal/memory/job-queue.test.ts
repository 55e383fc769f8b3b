import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isConflictError, isValidationError } from '../errors.js';
import type { Job, JobOutcome, JobSpec } from '../ports/job-queue.js';
import type { Logger, Metrics } from '../ports/observability.js';
import { createMemoryQueue, type MemoryQueueOptions } from './job-queue.js';

const DONE: JobOutcome = { status: 'done' };

const batch = (id: string, extra: Partial<JobSpec> = {}): JobSpec =>
  ({ kind: 'batch', id, data: { campaignId: 'c', batchNo: 1 }, ...extra }) as JobSpec;

const testSend = (id: string): JobSpec => ({ kind: 'test', id, data: { messageId: id } });

function spyLogger(): Logger & {
  [K in 'debug' | 'info' | 'warn' | 'error']: ReturnType<typeof vi.fn>;
} {
  const logger = {
    debug: vi.fn(),
    info: vi.fn(),
    warn: vi.fn(),
    error: vi.fn(),
    child: () => logger,
  };
  return logger;
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Lets every pending callback and promise chain run without moving the clock. */
const flush = () => vi.advanceTimersByTimeAsync(0);

describe('memory job queue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  const start = (options: MemoryQueueOptions = {}) => {
    const queue = createMemoryQueue({ backoff: { baseMs: 100, maxMs: 1_000 }, ...options });
    const runs: Job[] = [];
    const use = (handler: (job: Job) => Promise<JobOutcome> | JobOutcome = () => DONE) =>
      queue.process(async (job) => {
        runs.push(job);
        return handler(job);
      });
    return { queue, runs, use };
  };

  it('runs lower priorities first, in insertion order within one', async () => {
    const { queue, runs, use } = start({ concurrency: 1 });
    await queue.enqueue([
      batch('p5-a', { priority: 5 }),
      batch('normal-a'),
      batch('p1', { priority: 1 }),
      batch('p5-b', { priority: 5 }),
      batch('normal-b', { priority: 0 }),
    ]);
    use();
    await queue.onIdle();
    expect(runs.map((job) => job.id)).toEqual(['normal-a', 'normal-b', 'p1', 'p5-a', 'p5-b']);
  });

  it('keeps that order across many jobs', async () => {
    const { queue, runs, use } = start({ concurrency: 1 });
    const priorities = Array.from({ length: 500 }, (_, i) => (i * 7919) % 13);
    await queue.enqueue(priorities.map((priority, i) => batch(`j${i}`, { priority })));
    use();
    await queue.onIdle();
    const expected = priorities
      .map((priority, i) => ({ priority, i }))
      .sort((a, b) => a.priority - b.priority || a.i - b.i)
      .map(({ i }) => `j${i}`);
    expect(runs.map((job) => job.id)).toEqual(expected);
  });

  it('runs test sends in their own lane while batches fill every shared slot', async () => {
    const { queue, runs, use } = start({ concurrency: 2, laneConcurrency: { test: 1 } });
    const release = deferred();
    use(async (job) => {
      if (job.kind === 'batch') await release.promise;
      return DONE;
    });
    await queue.enqueue([batch('b1'), batch('b2'), batch('b3')]);
    await queue.enqueue([testSend('t1')]);
    await flush();
    expect(runs.map((job) => job.id)).toEqual(['b1', 'b2', 't1']);
    expect(queue.stats()).toMatchObject({ active: 2, waiting: 1 });
    release.resolve();
    await queue.onIdle();
    expect(runs.map((job) => job.id)).toEqual(['b1', 'b2', 't1', 'b3']);
  });

  it('never runs more jobs than its concurrency under load', async () => {
    vi.useRealTimers();
    const { queue, use } = start({ concurrency: 7, laneConcurrency: { test: 2 } });
    let active = 0;
    let activeTests = 0;
    let peak = 0;
    let peakTests = 0;
    let finished = 0;
    use(async (job) => {
      const isTest = job.kind === 'test';
      if (isTest) peakTests = Math.max(peakTests, ++activeTests);
      else peak = Math.max(peak, ++active);
      await new Promise((resolve) => setImmediate(resolve));
      if (isTest) activeTests--;
      else active--;
      finished++;
      return DONE;
    });
    const specs = Array.from({ length: 2_000 }, (_, i) =>
      i % 10 === 0 ? testSend(`t${i}`) : batch(`b${i}`, { priority: i % 3 }),
    );
    for (let i = 0; i < specs.length; i += 100) await queue.enqueue(specs.slice(i, i + 100));
    await queue.onIdle();
    expect(finished).toBe(2_000);
    expect(peak).toBe(7);
    expect(peakTests).toBe(2);
    expect(queue.stats()).toEqual({
      waiting: 0,
      delayed: 0,
      active: 0,
      completed: 2_000,
      failed: 0,
    });
  });

  it('runs a delayed job when its delay is over, from a single timer', async () => {
    const { queue, runs, use } = start();
    use();
    await queue.enqueue([
      batch('late', { delayMs: 3_000 }),
      batch('soon', { delayMs: 1_000 }),
      batch('middle', { delayMs: 2_000 }),
    ]);
    expect(vi.getTimerCount()).toBe(1);
    expect(queue.stats()).toMatchObject({ delayed: 3 });
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs.map((job) => job.id)).toEqual(['soon']);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(runs.map((job) => job.id)).toEqual(['soon', 'middle', 'late']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits out delays longer than a timer can hold', async () => {
    const { queue, runs, use } = start();
    use();
    const day = 24 * 60 * 60 * 1_000;
    await queue.enqueue([batch('scheduled', { delayMs: 40 * day })]);
    await vi.advanceTimersByTimeAsync(39 * day);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(day);
    expect(runs.map((job) => job.id)).toEqual(['scheduled']);
  });

  it('ignores an id that is still waiting, delayed or running', async () => {
    const { queue, runs, use } = start({ concurrency: 1 });
    const release = deferred();
    await queue.enqueue([batch('a'), batch('a', { priority: 3 }), batch('d', { delayMs: 500 })]);
    expect(queue.stats()).toMatchObject({ waiting: 1, delayed: 1 });
    expect(await queue.isPending('a')).toBe(true);
    expect(await queue.isPending('d')).toBe(true);
    use(async (job) => {
      if (job.id === 'a') await release.promise;
      return DONE;
    });
    await flush();
    await queue.enqueue([batch('a'), batch('d')]);
    release.resolve();
    await vi.advanceTimersByTimeAsync(500);
    await queue.onIdle();
    expect(runs.map((job) => job.id)).toEqual(['a', 'd']);
    expect(await queue.isPending('a')).toBe(false);

    await queue.enqueue([batch('a')]);
    await queue.onIdle();
    expect(runs.map((job) => job.id)).toEqual(['a', 'd', 'a']);
  });

  it('runs a job again after a delay outcome without counting an attempt', async () => {
    const { queue, runs, use } = start({ attempts: 1 });
    use(() => (runs.length < 3 ? { status: 'delay', delayMs: 400, reason: 'rate limited' } : DONE));
    await queue.enqueue([batch('b')]);
    await flush();
    expect(runs).toHaveLength(1);
    expect(await queue.isPending('b')).toBe(true);
    await queue.enqueue([batch('b')]);
    await vi.advanceTimersByTimeAsync(399);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(400);
    expect(runs.map((job) => job.attempt)).toEqual([1, 1, 1]);
    expect(queue.stats()).toMatchObject({ completed: 1, failed: 0, delayed: 0 });
  });

  it('retries a failing job with capped exponential backoff, then drops it and says so', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const logger = spyLogger();
    const metrics: Metrics = { increment: vi.fn(), observe: vi.fn(), gauge: vi.fn() };
    const { queue, runs, use } = start({
      attempts: 6,
      backoff: { baseMs: 100, maxMs: 300 },
      logger,
      metrics,
    });
    const startedAt = Date.now();
    const times: number[] = [];
    use(() => {
      times.push(Date.now() - startedAt);
      throw new Error('provider down');
    });
    await queue.enqueue([batch('b')]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs.map((job) => job.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(times).toEqual([0, 100, 300, 600, 900, 1_200]);
    expect(logger.warn).toHaveBeenCalledTimes(5);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error.mock.calls[0]?.[0]).toMatchObject({
      jobId: 'b',
      kind: 'batch',
      attempt: 6,
      err: expect.objectContaining({ message: 'provider down' }),
    });
    expect(metrics.increment).toHaveBeenCalledWith('queue_jobs_failed', 1, { kind: 'batch' });
    expect(queue.stats()).toMatchObject({ failed: 1, delayed: 0, waiting: 0, active: 0 });
    expect(await queue.isPending('b')).toBe(false);
  });

  it('spreads retries with full jitter', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const { queue, use } = start({ attempts: 2, backoff: { baseMs: 1_000, maxMs: 10_000 } });
    let runsSoFar = 0;
    use(() => {
      runsSoFar++;
      throw new Error('boom');
    });
    await queue.enqueue([batch('b')]);
    await vi.advanceTimersByTimeAsync(249);
    expect(runsSoFar).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runsSoFar).toBe(2);
  });

  it('succeeds on a retry after a synchronous throw', async () => {
    const { queue, runs } = start();
    queue.process((job) => {
      runs.push(job);
      if (job.attempt === 1) throw new Error('first run fails');
      return Promise.resolve(DONE);
    });
    await queue.enqueue([batch('b')]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs.map((job) => job.attempt)).toEqual([1, 2]);
    expect(queue.stats()).toMatchObject({ completed: 1, failed: 0 });
  });

  it('resolves onIdle only once nothing is waiting, delayed or running', async () => {
    const { queue, use } = start();
    await queue.onIdle();
    await queue.enqueue([batch('now'), batch('later', { delayMs: 5_000 })]);
    let isIdle = false;
    const idle = queue.onIdle().then(() => {
      isIdle = true;
    });
    use();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(isIdle).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await idle;
    expect(isIdle).toBe(true);
  });

  it('closes after running jobs finish, dropping the rest and refusing new ones', async () => {
    const logger = spyLogger();
    const { queue, runs, use } = start({ concurrency: 1, logger });
    const release = deferred();
    use(async () => {
      await release.promise;
      return DONE;
    });
    await queue.enqueue([batch('running'), batch('waiting'), batch('delayed', { delayMs: 100 })]);
    await flush();
    let isClosed = false;
    const closed = queue.close().then(() => {
      isClosed = true;
    });
    await flush();
    expect(isClosed).toBe(false);
    expect(await queue.isPending('waiting')).toBe(false);
    expect(await queue.isPending('delayed')).toBe(false);
    const error = await queue.enqueue([batch('new')]).catch((e: unknown) => e);
    expect(isConflictError(error)).toBe(true);

    release.resolve();
    await closed;
    expect(runs.map((job) => job.id)).toEqual(['running']);
    expect(queue.stats()).toMatchObject({ completed: 1, waiting: 0, delayed: 0, active: 0 });
    expect(logger.warn).toHaveBeenCalledWith({ discarded: 2 }, expect.any(String));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toHaveLength(1);
  });

  it('gives up waiting for running jobs after its close timeout', async () => {
    const logger = spyLogger();
    const { queue, use } = start({ closeTimeoutMs: 2_000, logger });
    use(() => new Promise<JobOutcome>(() => {}));
    await queue.enqueue([batch('stuck')]);
    await flush();
    let isClosed = false;
    void queue.close().then(() => {
      isClosed = true;
    });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(isClosed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(isClosed).toBe(true);
    expect(logger.warn).toHaveBeenCalledWith({ active: 1 }, expect.any(String));
  });

  it('rejects bad options and bad jobs, adding none of a bad call', async () => {
    const options = [{ concurrency: 0 }, { attempts: 1.5 }, { laneConcurrency: { test: 0 } }];
    for (const option of options) {
      expect(() => createMemoryQueue(option)).toThrow(
        expect.objectContaining({ code: 'validation' }),
      );
    }
    const { queue } = start();
    const error = await queue
      .enqueue([batch('fine'), batch(''), batch('x', { delayMs: -1 })])
      .catch((e: unknown) => e);
    expect(isValidationError(error)).toBe(true);
    expect(error).toMatchObject({ issues: [{ path: [1, 'id'] }, { path: [2, 'delayMs'] }] });
    expect(await queue.isPending('fine')).toBe(false);
  });

  it('takes one handler only', () => {
    const { use } = start();
    use();
    expect(() => use()).toThrow(/handler/);
  });
});
