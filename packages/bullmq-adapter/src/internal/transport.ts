// `createBullmqTransport`: core's JobQueue on BullMQ, the producer side. Each kind goes to its
// queue with its deterministic id; an id still pending is not added twice, and an id whose job
// finished is added again (as the in-process queue does), since BullMQ alone would ignore it.

import {
  type JobQueue,
  type JobSpec,
  silentLogger,
  ValidationError,
  type ValidationIssue,
} from '@smsbatch/core';
import type { JobsOptions, Queue } from 'bullmq';
import { openRedis } from './connection.js';
import { BullmqAdapterError, redisCall } from './errors.js';
import { type BullmqTransportOptions, parseOptions, transportOptionsSchema } from './options.js';
import { closeQueueSet, countJobs, createQueueSet, type QueueCounts } from './queue-set.js';
import {
  jobIdIssues,
  jobOptions,
  MAX_PRIORITY,
  QUEUE_NAMES,
  QUEUE_OF,
  type QueueName,
} from './queues.js';

export type BullmqTransport = JobQueue & {
  /** Jobs per queue and state, for `/metrics`, dashboards and benchmarks. */
  getQueueCounts(): Promise<QueueCounts>;
  /** Closes the queues, and the Redis connection if the transport opened it. */
  close(): Promise<void>;
};

const PENDING_STATES = new Set(['waiting', 'delayed', 'prioritized', 'active', 'waiting-children']);
const FINISHED_STATES = new Set(['completed', 'failed']);

export function createBullmqTransport(options: BullmqTransportOptions): BullmqTransport {
  const settings = parseOptions(transportOptionsSchema, options);
  const logger = settings.logger ?? silentLogger;
  const redis = openRedis(settings.connection, logger);
  const queues = createQueueSet(redis.client, settings.prefix, logger);
  const addOptions = jobOptions(settings);
  let closing: Promise<void> | null = null;

  const assertOpen = () => {
    if (closing) throw new BullmqAdapterError('closed', 'the transport is closed');
  };

  /** Removes the finished jobs among `ids` so their ids can be added again. */
  const clearFinished = async (queue: Queue, ids: readonly string[]) => {
    const keys = ids.map((id) => queue.toKey(id));
    const exists = await redis.client.pipeline(keys.map((key) => ['exists', key])).exec();
    const existing = ids.filter((_, i) => exists?.[i]?.[1] === 1);
    await Promise.all(
      existing.map(async (id) => {
        if (!FINISHED_STATES.has(await queue.getJobState(id))) return;
        try {
          await queue.remove(id);
        } catch (error) {
          // Another producer re-added it first and a worker holds it now: it is pending, as wanted.
          if (!PENDING_STATES.has(await queue.getJobState(id))) throw error;
        }
      }),
    );
  };

  const add = async (queue: Queue, specs: readonly JobSpec[]) => {
    await clearFinished(
      queue,
      specs.map((spec) => spec.id),
    );
    await queue.addBulk(
      specs.map((spec) => {
        const opts: JobsOptions = { ...addOptions, jobId: spec.id };
        if (spec.delayMs) opts.delay = Math.ceil(spec.delayMs);
        if (spec.priority) opts.priority = spec.priority;
        return { name: spec.kind, data: spec.data, opts };
      }),
    );
  };

  return {
    async enqueue(specs) {
      assertOpen();
      const issues = specs.flatMap(specIssues);
      if (issues.length > 0) throw new ValidationError(issues);
      const byQueue = new Map<QueueName, JobSpec[]>();
      for (const spec of specs) {
        const name = QUEUE_OF[spec.kind];
        byQueue.set(name, [...(byQueue.get(name) ?? []), spec]);
      }
      await redisCall('enqueue', () =>
        Promise.all([...byQueue].map(([name, group]) => add(queues[name], group))),
      );
    },

    async isPending(id) {
      assertOpen();
      const states = await redisCall(`isPending(${id})`, () =>
        Promise.all(QUEUE_NAMES.map((name) => queues[name].getJobState(id))),
      );
      return states.some((state) => PENDING_STATES.has(state));
    },

    getQueueCounts() {
      assertOpen();
      return redisCall('getQueueCounts', () => countJobs(queues));
    },

    close() {
      closing ??= (async () => {
        await closeQueueSet(queues);
        await redis.close();
      })();
      return closing;
    },
  };
}

function specIssues(spec: JobSpec, index: number): ValidationIssue[] {
  const issues = jobIdIssues(spec.id, [index, 'id']);
  if (!Object.hasOwn(QUEUE_OF, spec.kind)) {
    issues.push({ path: [index, 'kind'], message: 'is not a job kind' });
  }
  if (spec.delayMs !== undefined && !(Number.isFinite(spec.delayMs) && spec.delayMs >= 0)) {
    issues.push({ path: [index, 'delayMs'], message: 'must be a finite number of at least 0' });
  }
  const { priority } = spec;
  if (
    priority !== undefined &&
    !(Number.isInteger(priority) && priority >= 0 && priority <= MAX_PRIORITY)
  ) {
    issues.push({
      path: [index, 'priority'],
      message: `must be an integer from 0 to ${MAX_PRIORITY} (BullMQ's range)`,
    });
  }
  return issues;
}
