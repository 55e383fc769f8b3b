// The in-process JobQueue: producer and consumer in one object, for the demo and single-process
// deployments. Ready jobs sit in binary heaps (per lane), delayed ones in one heap behind a single
// timer, so thousands of jobs cost O(log n) each and nothing polls.

import { ConflictError, ValidationError, type ValidationIssue } from '../errors.js';
import type {
  Job,
  JobHandler,
  JobKind,
  JobOutcome,
  JobQueue,
  JobSpec,
} from '../ports/job-queue.js';
import { type Logger, type Metrics, noopMetrics, silentLogger } from '../ports/observability.js';

export interface MemoryQueueOptions {
  /** Jobs running at once across the kinds without a lane of their own. Default 5. */
  concurrency?: number;
  /**
   * Kinds that run in slots of their own, outside `concurrency`: `{ test: 2 }` keeps test sends
   * from waiting behind a campaign's batches.
   */
  laneConcurrency?: Partial<Record<JobKind, number>>;
  /** Runs of a job before it is dropped; a `delay` outcome does not count. Default 5. */
  attempts?: number;
  /** Retry delay after a thrown error: full jitter over `min(maxMs, baseMs * 2^(attempt-1))`. */
  backoff?: { baseMs: number; maxMs: number };
  /** How long `close()` waits for running jobs. Default 10 s. */
  closeTimeoutMs?: number;
  logger?: Logger;
  metrics?: Metrics;
}

export interface MemoryQueueStats {
  waiting: number;
  delayed: number;
  active: number;
  /** Jobs that finished with `done` since the queue was created. */
  completed: number;
  /** Jobs dropped after their last attempt since the queue was created. */
  failed: number;
}

export type MemoryQueue = JobQueue & {
  /** Starts consuming with `handler`; one handler per queue. */
  process(handler: JobHandler): void;
  /** Resolves once nothing is waiting, delayed or running. */
  onIdle(): Promise<void>;
  /** Stops starting jobs, discards waiting and delayed ones, and waits for running ones. */
  close(): Promise<void>;
  stats(): MemoryQueueStats;
};

interface Entry {
  job: Job;
  priority: number;
  /** Insertion order, renewed on every requeue: FIFO among equal priorities and due times. */
  seq: number;
  runAt: number;
}

interface Lane {
  limit: number;
  active: number;
  ready: BinaryHeap<Entry>;
}

// setTimeout fires at once beyond this (about 24.8 days); a later job re-arms the timer instead.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createMemoryQueue(options: MemoryQueueOptions = {}): MemoryQueue {
  const settings = validateOptions(options);
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? noopMetrics;

  const byPriority = (a: Entry, b: Entry) => a.priority - b.priority || a.seq - b.seq;
  const newLane = (limit: number): Lane => ({
    limit,
    active: 0,
    ready: new BinaryHeap(byPriority),
  });
  const shared = newLane(settings.concurrency);
  const lanes = new Map<JobKind, Lane>();
  for (const [kind, limit] of Object.entries(options.laneConcurrency ?? {})) {
    lanes.set(kind as JobKind, newLane(limit));
  }
  const allLanes = [shared, ...lanes.values()];
  const laneOf = (kind: JobKind) => lanes.get(kind) ?? shared;

  const delayed = new BinaryHeap<Entry>((a, b) => a.runAt - b.runAt || a.seq - b.seq);
  const pending = new Set<string>();
  let timer: { at: number; handle: ReturnType<typeof setTimeout> } | null = null;
  let handler: JobHandler | null = null;
  let nextSeq = 0;
  let completed = 0;
  let failed = 0;
  let idleWaiters: (() => void)[] = [];
  let closing: Promise<void> | null = null;

  const makeReady = (entry: Entry): void => {
    entry.seq = nextSeq++;
    laneOf(entry.job.kind).ready.push(entry);
  };

  const schedule = (entry: Entry, delayMs: number): void => {
    if (delayMs <= 0) {
      makeReady(entry);
      return;
    }
    entry.seq = nextSeq++;
    entry.runAt = Date.now() + delayMs;
    delayed.push(entry);
    armTimer();
  };

  const armTimer = (): void => {
    const next = delayed.peek();
    if (!next || (timer && timer.at <= next.runAt)) return;
    if (timer) clearTimeout(timer.handle);
    const now = Date.now();
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, next.runAt - now));
    timer = { at: now + wait, handle: setTimeout(onTimer, wait) };
  };

  const onTimer = (): void => {
    timer = null;
    const now = Date.now();
    for (let next = delayed.peek(); next && next.runAt <= now; next = delayed.peek()) {
      makeReady(delayed.pop()!);
    }
    armTimer();
    pump();
  };

  const pump = (): void => {
    if (!handler || closing) return;
    for (const lane of allLanes) {
      while (lane.active < lane.limit && lane.ready.size > 0) {
        void run(lane, lane.ready.pop()!, handler);
      }
    }
  };

  const run = async (lane: Lane, entry: Entry, handle: JobHandler): Promise<void> => {
    lane.active++;
    const { job } = entry;
    const labels = { kind: job.kind };
    const startedAt = Date.now();
    // Starting in a microtask turns a handler's synchronous throw into a failure like any other.
    const result: JobOutcome | { status: 'error'; error: unknown } = await Promise.resolve()
      .then(() => handle({ ...job }))
      .catch((error: unknown) => ({ status: 'error', error }) as const);
    lane.active--;
    metrics.observe('queue_job_duration_ms', Date.now() - startedAt, labels);

    const context = { jobId: job.id, kind: job.kind, attempt: job.attempt };
    if (result.status === 'done') {
      completed++;
      metrics.increment('queue_jobs_completed', 1, labels);
      pending.delete(job.id);
    } else if (closing) {
      // The store stays the source of truth: its sweeper re-enqueues what this process dropped.
      logger.warn({ ...context, outcome: result.status }, 'queue closed: job not run again');
      pending.delete(job.id);
    } else if (result.status === 'delay') {
      metrics.increment('queue_jobs_delayed', 1, labels);
      schedule(entry, Number.isFinite(result.delayMs) ? result.delayMs : 0);
    } else if (job.attempt < settings.attempts) {
      const cap = Math.min(
        settings.backoff.maxMs,
        settings.backoff.baseMs * 2 ** (job.attempt - 1),
      );
      const delayMs = Math.round(Math.random() * cap);
      logger.warn({ ...context, err: result.error, delayMs }, 'job failed; retrying');
      metrics.increment('queue_jobs_retried', 1, labels);
      job.attempt++;
      schedule(entry, delayMs);
    } else {
      failed++;
      logger.error({ ...context, err: result.error }, 'job failed on its last attempt; dropped');
      metrics.increment('queue_jobs_failed', 1, labels);
      pending.delete(job.id);
    }
    pump();
    notifyIfIdle();
  };

  const notifyIfIdle = (): void => {
    if (pending.size > 0 || idleWaiters.length === 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  };

  const onIdle = (): Promise<void> =>
    pending.size === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));

  const shutDown = async (): Promise<void> => {
    if (timer) clearTimeout(timer.handle);
    timer = null;
    let discarded = 0;
    for (const heap of [delayed, ...allLanes.map((lane) => lane.ready)]) {
      for (const entry of heap.drain()) {
        pending.delete(entry.job.id);
        discarded++;
      }
    }
    if (discarded > 0) logger.warn({ discarded }, 'queue closed with jobs not yet run');
    notifyIfIdle();

    let deadline: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      deadline = setTimeout(() => resolve(true), settings.closeTimeoutMs);
    });
    const isTimedOut = await Promise.race([onIdle().then(() => false), timedOut]);
    clearTimeout(deadline);
    if (isTimedOut) logger.warn({ active: pending.size }, 'queue closed with jobs still running');
  };

  return {
    async enqueue(specs: readonly JobSpec[]) {
      if (closing) throw new ConflictError('the queue is closed');
      const issues = specs.flatMap(validateSpec);
      if (issues.length > 0) throw new ValidationError(issues);
      for (const spec of specs) {
        if (pending.has(spec.id)) continue;
        pending.add(spec.id);
        const job = { kind: spec.kind, id: spec.id, data: spec.data, attempt: 1 } as Job;
        schedule({ job, priority: spec.priority ?? 0, seq: 0, runAt: 0 }, spec.delayMs ?? 0);
      }
      pump();
    },

    async isPending(id) {
      return pending.has(id);
    },

    process(jobHandler) {
      if (handler) throw new ConflictError('the queue already has a handler');
      handler = jobHandler;
      pump();
    },

    onIdle,

    close() {
      closing ??= shutDown();
      return closing;
    },

    stats() {
      let waiting = 0;
      let active = 0;
      for (const lane of allLanes) {
        waiting += lane.ready.size;
        active += lane.active;
      }
      return { waiting, delayed: delayed.size, active, completed, failed };
    },
  };
}

function validateOptions(options: MemoryQueueOptions) {
  const settings = {
    concurrency: options.concurrency ?? 5,
    attempts: options.attempts ?? 5,
    backoff: options.backoff ?? { baseMs: 1_000, maxMs: 60_000 },
    closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
  };
  const issues: ValidationIssue[] = [];
  const check = (path: (string | number)[], value: number, min: number) => {
    if (!Number.isSafeInteger(value) || value < min) {
      issues.push({ path, message: `must be an integer of at least ${min}` });
    }
  };
  check(['concurrency'], settings.concurrency, 1);
  check(['attempts'], settings.attempts, 1);
  check(['backoff', 'baseMs'], settings.backoff.baseMs, 0);
  check(['backoff', 'maxMs'], settings.backoff.maxMs, 0);
  check(['closeTimeoutMs'], settings.closeTimeoutMs, 0);
  for (const [kind, limit] of Object.entries(options.laneConcurrency ?? {})) {
    check(['laneConcurrency', kind], limit, 1);
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return settings;
}

function validateSpec(spec: JobSpec, index: number): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (typeof spec.id !== 'string' || spec.id === '') {
    issues.push({ path: [index, 'id'], message: 'must be a non-empty string' });
  }
  if (spec.delayMs !== undefined && !(spec.delayMs >= 0 && Number.isFinite(spec.delayMs))) {
    issues.push({ path: [index, 'delayMs'], message: 'must be a finite number of at least 0' });
  }
  if (spec.priority !== undefined && !Number.isFinite(spec.priority)) {
    issues.push({ path: [index, 'priority'], message: 'must be a finite number' });
  }
  return issues;
}

/** A min-heap under `compare` (negative when `a` comes first). */
class BinaryHeap<T> {
  #items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    let index = items.push(item) - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.compare(items[parent]!, item) <= 0) break;
      items[index] = items[parent]!;
      index = parent;
    }
    items[index] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child =
        right < items.length && this.compare(items[right]!, items[left]!) < 0 ? right : left;
      if (this.compare(last, items[child]!) <= 0) break;
      items[index] = items[child]!;
      index = child;
    }
    items[index] = last;
    return top;
  }

  /** Empties the heap, returning what it held in no particular order. */
  drain(): T[] {
    const items = this.#items;
    this.#items = [];
    return items;
  }
}
