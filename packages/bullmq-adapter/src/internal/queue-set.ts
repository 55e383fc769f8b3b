// One BullMQ `Queue` per queue name on a shared connection, and their job counts: what the
// transport adds to, what the workers schedule on, and what `/metrics` reads.

import type { Logger } from '@smsbatch/core';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { EVENTS_MAX_LEN, QUEUE_NAMES, type QueueName } from './queues.js';

export interface JobCounts {
  /** Ready to run (waiting or prioritized). */
  waiting: number;
  active: number;
  /** Waiting for their time: retries, rate-limited batches, scheduled starts. */
  delayed: number;
  /** Kept failed jobs (bounded by `keepFailed`). */
  failed: number;
  /** Kept completed jobs (bounded by `keepCompleted`). */
  completed: number;
}

export type QueueCounts = Record<QueueName, JobCounts>;

export type QueueSet = Record<QueueName, Queue>;

export function createQueueSet(client: Redis, prefix: string, logger: Logger): QueueSet {
  const make = (name: QueueName) => {
    const queue = new Queue(name, {
      connection: client,
      prefix,
      streams: { events: { maxLen: EVENTS_MAX_LEN } },
    });
    // The calls that fail throw to their callers; this only keeps the connection's noise in logs.
    queue.on('error', (error) => logger.warn({ err: error, queue: name }, 'queue error'));
    return queue;
  };
  return Object.fromEntries(QUEUE_NAMES.map((name) => [name, make(name)])) as QueueSet;
}

export async function countJobs(queues: QueueSet): Promise<QueueCounts> {
  const entries = await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const counts = await queues[name].getJobCounts(
        'waiting',
        'prioritized',
        'active',
        'delayed',
        'failed',
        'completed',
      );
      const of = (state: string) => counts[state] ?? 0;
      const jobCounts: JobCounts = {
        waiting: of('waiting') + of('prioritized'),
        active: of('active'),
        delayed: of('delayed'),
        failed: of('failed'),
        completed: of('completed'),
      };
      return [name, jobCounts] as const;
    }),
  );
  return Object.fromEntries(entries) as QueueCounts;
}

export async function closeQueueSet(queues: QueueSet): Promise<void> {
  await Promise.allSettled(QUEUE_NAMES.map((name) => queues[name].close()));
}
