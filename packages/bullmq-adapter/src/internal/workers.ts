// `createSmsWorkers`: runs core's `handleJob` in BullMQ Workers, one per queue. A `delay` outcome
// moves the job to delayed without spending an attempt or a worker slot; a thrown error is
// retried with capped, fully jittered backoff per job kind; the maintenance schedulers are kept
// alive even when Redis loses its data.

import {
  type Job,
  type JobHandler,
  type JobKind,
  type JobOutcome,
  noopMetrics,
  silentLogger,
} from '@smsbatch/core';
import {
  type Job as BullJob,
  DelayedError,
  type MinimalJob,
  UnrecoverableError,
  Worker,
  type WorkerOptions,
} from 'bullmq';
import { openRedis } from './connection.js';
import {
  DEFAULT_RETRY,
  parseOptions,
  type RetryPolicy,
  type SmsWorkersOptions,
  workersOptionsSchema,
} from './options.js';
import { closeQueueSet, countJobs, createQueueSet, type QueueCounts } from './queue-set.js';
import { isJobKind, JOB_KINDS, jobOptions, QUEUE_NAMES, type QueueName } from './queues.js';

export interface SmsWorkers {
  /** Resolves once every worker is connected and the job schedulers exist. */
  ready(): Promise<void>;
  /** Jobs per queue and state, for `/metrics`, dashboards and benchmarks. */
  getQueueCounts(): Promise<QueueCounts>;
  /**
   * Stops taking jobs and waits up to `closeTimeoutMs` for running ones, then closes what it
   * opened. Jobs still running at the timeout are released to other workers and the call returns;
   * the connections close when those jobs end, so the process should exit next.
   */
  close(): Promise<void>;
}

/** Maintenance jobs at once per process: a long status sweep must not hold up the reconciler. */
const MAINTENANCE_CONCURRENCY = 2;

const SCHEDULERS = [
  { id: 'reconcile', kind: 'reconcile', every: 'reconcileEveryMs' },
  { id: 'status-sweep', kind: 'refresh', every: 'sweepEveryMs' },
] as const;

interface Running {
  job: BullJob;
  token: string | undefined;
}

export function createSmsWorkers(options: SmsWorkersOptions): SmsWorkers {
  const settings = parseOptions(workersOptionsSchema, options);
  const logger = (settings.logger ?? silentLogger).child({ component: 'bullmq-workers' });
  const metrics = settings.metrics ?? noopMetrics;
  const handleJob: JobHandler = settings.handleJob ?? settings.pipeline!.handleJob;
  const retry = resolveRetry(settings.retry, logger);
  const policyOf = (name: string | undefined): RetryPolicy =>
    name !== undefined && isJobKind(name) ? retry[name] : { attempts: 1, baseMs: 0, maxMs: 0 };

  // Workers block on their own duplicated connections; BullMQ needs commands never to give up.
  const redis = openRedis(settings.connection, logger, { maxRetriesPerRequest: null });
  const queues = createQueueSet(redis.client, settings.prefix, logger);
  const running = new Set<Running>();
  let closing: Promise<void> | null = null;

  const runJob = async (bullJob: BullJob, token?: string): Promise<void> => {
    const kind = bullJob.name;
    if (!isJobKind(kind)) {
      // Not ours (another app on the same prefix?): fail it at once rather than retry.
      logger.error({ jobId: bullJob.id, name: kind }, 'job of an unknown kind failed');
      throw new UnrecoverableError(`unknown job kind "${kind}"`);
    }
    const job = {
      kind,
      id: bullJob.id ?? '',
      data: bullJob.data,
      attempt: bullJob.attemptsMade + 1,
    } as Job;
    const labels = { kind };
    const entry: Running = { job: bullJob, token };
    running.add(entry);
    const started = Date.now();
    let outcome: JobOutcome;
    try {
      outcome = await handleJob(job);
    } catch (error) {
      const isLast = job.attempt >= policyOf(kind).attempts;
      const context = { err: error, jobId: job.id, kind, attempt: job.attempt };
      if (isLast) logger.error(context, 'job failed on its last attempt');
      else logger.warn(context, 'job failed; retrying with backoff');
      metrics.increment(isLast ? 'queue_jobs_failed' : 'queue_jobs_retried', 1, labels);
      throw error instanceof Error ? error : new Error(String(error));
    } finally {
      running.delete(entry);
      metrics.observe('queue_job_duration_ms', Date.now() - started, labels);
    }
    if (outcome.status === 'delay') {
      const delayMs = Number.isFinite(outcome.delayMs)
        ? Math.max(0, Math.ceil(outcome.delayMs))
        : 0;
      // Not a failed attempt, and the slot is free at once: other accounts' batches go on.
      await bullJob.moveToDelayed(Date.now() + delayMs, token);
      metrics.increment('queue_jobs_delayed', 1, labels);
      logger.debug({ jobId: job.id, kind, delayMs, reason: outcome.reason }, 'job delayed');
      throw new DelayedError();
    }
    metrics.increment('queue_jobs_completed', 1, labels);
  };

  const backoffStrategy = (
    attemptsMade: number,
    _type?: string,
    _err?: Error,
    job?: MinimalJob,
  ) => {
    const policy = policyOf(job?.name);
    // -1 tells BullMQ to fail the job now: our per-kind attempts, not the job's ceiling, decide.
    if (attemptsMade >= policy.attempts) return -1;
    const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attemptsMade - 1));
    return Math.round(Math.random() * ceiling);
  };

  const makeWorker = (name: QueueName, concurrency: number, extra: Partial<WorkerOptions> = {}) => {
    const worker = new Worker(name, runJob, {
      name: settings.name,
      connection: redis.client,
      prefix: settings.prefix,
      concurrency,
      lockDuration: settings.lockDuration,
      stalledInterval: settings.stalledInterval,
      maxStalledCount: settings.maxStalledCount,
      settings: { backoffStrategy },
      ...extra,
    });
    worker.on('error', (error) => logger.error({ err: error, queue: name }, 'worker error'));
    worker.on('stalled', (jobId) => {
      // Its worker died or blocked past `lockDuration`: another run starts; core's claim makes
      // that safe (messages already claimed are not sent again).
      logger.warn({ jobId, queue: name }, 'job stalled; running it again');
      metrics.increment('queue_jobs_stalled', 1, { queue: name });
    });
    return worker;
  };

  const workers = [
    makeWorker(
      'bulk',
      settings.concurrency,
      settings.queueRateLimit ? { limiter: settings.queueRateLimit } : {},
    ),
    makeWorker('single', settings.concurrency),
    makeWorker('test', settings.testConcurrency),
    makeWorker('maintenance', MAINTENANCE_CONCURRENCY),
  ];

  const schedulerJobOptions = jobOptions(settings);
  /**
   * Creates the reconcile and sweep schedulers if they are missing (a flushed Redis), changed, or
   * stuck (their next run long overdue, its job lost). Upserting is idempotent, so every process
   * may do it.
   */
  const ensureSchedulers = async () => {
    for (const scheduler of SCHEDULERS) {
      const every = settings[scheduler.every];
      const current = await queues.maintenance.getJobScheduler(scheduler.id);
      const overdueBy = Date.now() - Number(current?.next ?? 0);
      const isHealthy =
        current !== undefined &&
        Number(current.every) === every &&
        overdueBy < Math.max(3 * every, 60_000);
      if (isHealthy) continue;
      await queues.maintenance.upsertJobScheduler(
        scheduler.id,
        { every },
        { name: scheduler.kind, data: {}, opts: schedulerJobOptions },
      );
      logger.info(
        { scheduler: scheduler.id, every, previous: current ?? null },
        current ? 'job scheduler repaired' : 'job scheduler created',
      );
    }
  };

  const publishCounts = async () => {
    const counts = await countJobs(queues);
    for (const queue of QUEUE_NAMES) {
      for (const [state, value] of Object.entries(counts[queue])) {
        metrics.gauge('queue_jobs', value, { queue, state });
      }
    }
  };

  const timers: ReturnType<typeof setInterval>[] = [];
  const every = (ms: number, task: () => Promise<void>, what: string) => {
    const timer = setInterval(() => {
      task().catch((error) => logger.error({ err: error }, `${what} failed`));
    }, ms);
    timer.unref();
    timers.push(timer);
  };
  every(settings.reconcileEveryMs, ensureSchedulers, 'job scheduler check');
  if (settings.metrics) every(settings.metricsEveryMs, publishCounts, 'queue metrics');

  const starting = (async () => {
    await Promise.all(workers.map((worker) => worker.waitUntilReady()));
    await ensureSchedulers();
  })();
  starting.catch((error) => logger.error({ err: error }, 'workers failed to start'));

  const shutDown = async () => {
    for (const timer of timers) clearInterval(timer);
    const graceful = Promise.allSettled(workers.map((worker) => worker.close()));
    // The shared connection must outlive the workers: cut under a running worker, BullMQ's fetch
    // loop spins on the closed client and starves the event loop.
    const released = graceful.then(async () => {
      await closeQueueSet(queues);
      await redis.close();
    });
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const isFinished = await Promise.race([
      graceful.then(() => true),
      new Promise<boolean>((resolve) => {
        deadline = setTimeout(() => resolve(false), settings.closeTimeoutMs);
      }),
    ]);
    clearTimeout(deadline);
    if (isFinished) {
      await released;
      return;
    }
    // Handing the jobs back now beats waiting for their locks to expire; a second run of a job
    // whose first run is still going is safe (core's claims and compare-and-set writes).
    const handedBack = await Promise.allSettled(
      [...running].map(({ job, token }) => job.moveToWait(token)),
    );
    logger.warn(
      { released: handedBack.filter((result) => result.status === 'fulfilled').length },
      'close timed out: running jobs released to other workers; connections close when they end',
    );
    released.catch((error) => logger.error({ err: error }, 'closing connections failed'));
  };

  return {
    ready: () => starting,
    getQueueCounts: () => countJobs(queues),
    close() {
      closing ??= shutDown();
      return closing;
    },
  };
}

/** Merges the given policies over the defaults; a base above the cap is clamped, with a warning. */
function resolveRetry(
  given: Partial<Record<JobKind, Partial<RetryPolicy>>>,
  logger: { warn: (object: Record<string, unknown>, message?: string) => void },
): Record<JobKind, RetryPolicy> {
  const entries = JOB_KINDS.map((kind) => {
    const policy = { ...DEFAULT_RETRY[kind], ...given[kind] };
    if (policy.baseMs > policy.maxMs) {
      logger.warn({ kind, ...policy }, 'retry baseMs exceeds maxMs; clamped to maxMs');
      policy.baseMs = policy.maxMs;
    }
    return [kind, policy] as const;
  });
  return Object.fromEntries(entries) as Record<JobKind, RetryPolicy>;
}
