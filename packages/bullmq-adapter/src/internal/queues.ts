// The queue layout: which BullMQ queue each job kind goes to, the options every job is added with,
// and BullMQ's rules for job ids. Producer and workers both read it, so they always agree.

import type { JobKind, ValidationIssue } from '@smsbatch/core';
import type { KeepJobs } from 'bullmq';

/**
 * `bulk`: planner and batch jobs (the campaign pipeline, under the queue-wide rate limit).
 * `single`: one job per message when `USE_BULK_SMS=false`. `test`: test sends, with workers of
 * their own so they never wait behind a campaign. `maintenance`: the reconciler and status sweeps.
 */
export const QUEUE_NAMES = ['bulk', 'single', 'test', 'maintenance'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const QUEUE_OF: Readonly<Record<JobKind, QueueName>> = {
  plan: 'bulk',
  batch: 'bulk',
  single: 'single',
  test: 'test',
  refresh: 'maintenance',
  reconcile: 'maintenance',
};

export const JOB_KINDS = Object.keys(QUEUE_OF) as JobKind[];

export const isJobKind = (name: string): name is JobKind => Object.hasOwn(QUEUE_OF, name);

/** The backoff type every job carries; the workers register the strategy under this name. */
export const BACKOFF_TYPE = 'smsbatch';

/**
 * BullMQ stops retrying at a job's own `attempts`; ours is this ceiling, so the workers' per-kind
 * policy (applied through the backoff strategy) is what decides, and can change without
 * re-adding jobs.
 */
export const ATTEMPTS_CEILING = 1000;

/** Lines kept in each queue's event stream: enough for dashboards, bounded in memory. */
export const EVENTS_MAX_LEN = 1000;

export interface RetentionOptions {
  /** Finished jobs kept for inspection; `age` in seconds. Default `{ age: 3600, count: 1000 }`. */
  keepCompleted: KeepJobs;
  /** Default `{ age: 604800, count: 5000 }` (a week). */
  keepFailed: KeepJobs;
}

export const DEFAULT_RETENTION: RetentionOptions = {
  keepCompleted: { age: 3600, count: 1000 },
  keepFailed: { age: 7 * 24 * 3600, count: 5000 },
};

/** The options every job is added with, whoever adds it (producer or job scheduler). */
export const jobOptions = (retention: RetentionOptions) => ({
  attempts: ATTEMPTS_CEILING,
  backoff: { type: BACKOFF_TYPE },
  removeOnComplete: retention.keepCompleted,
  removeOnFail: retention.keepFailed,
});

/** BullMQ's highest priority value. */
export const MAX_PRIORITY = 2_097_151;

/** BullMQ refuses ids with `:` and all-digit ids (they would collide with its own counters). */
export function jobIdIssues(id: unknown, path: (string | number)[]): ValidationIssue[] {
  if (typeof id !== 'string' || id === '') return [{ path, message: 'must be a non-empty string' }];
  if (id.includes(':')) return [{ path, message: 'must not contain ":"' }];
  if (/^\d+$/.test(id)) return [{ path, message: 'must not be all digits' }];
  return [];
}
