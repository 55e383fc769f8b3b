// The JobQueue port: the producer side of a job queue. Job data carries ids and numbers only;
// texts and phones stay in the store. A consumer (the in-process queue, BullMQ workers) calls
// the pipeline's `handleJob` and honours the outcome it returns.

export interface JobDataByKind {
  /** Plans the next chunk of a campaign's audience. */
  plan: { campaignId: string; scheduleVersion: number };
  /** Sends one batch with one bulk call. */
  batch: { campaignId: string; batchNo: number };
  /** `USE_BULK_SMS=false`: one message of a batch, sent alone. */
  single: { campaignId: string; batchNo: number; messageId: string };
  /** A test send: no campaign, its own queue and priority. */
  test: { messageId: string };
  /** Looks up `sent` messages of a campaign or a bulk that have no final delivery report. */
  refresh: { campaignId?: string; bulkId?: string };
  /** One pass of the reconciler (leases, unconfirmed sends, lost jobs, settling). */
  reconcile: Record<string, never>;
}

export type JobKind = keyof JobDataByKind;

export type JobSpec = {
  [K in JobKind]: {
    kind: K;
    /** Deterministic; no `:` and not all digits (BullMQ's rules). */
    id: string;
    data: JobDataByKind[K];
    delayMs?: number;
    /** Lower runs first; a job without a priority runs before prioritized ones (as in BullMQ). */
    priority?: number;
  };
}[JobKind];

export interface Job<K extends JobKind = JobKind> {
  kind: K;
  /** The spec's id, or the consumer's own for jobs it schedules itself (BullMQ's repeat ids). */
  id: string;
  data: JobDataByKind[K];
  /** 1 on the first run; a delay outcome does not count as an attempt. */
  attempt: number;
}

/**
 * `done`: the job finished (whatever happened to its messages is in the store).
 * `delay`: run the same job again after `delayMs` (rate limit, backoff); not a failure.
 * A thrown error is a failure: the queue retries with backoff, up to its attempts.
 */
export type JobOutcome = { status: 'done' } | { status: 'delay'; delayMs: number; reason: string };

export type JobHandler = (job: Job) => Promise<JobOutcome>;

export interface JobQueue {
  /**
   * Adds jobs; a job whose id is still pending (waiting, delayed or active) is not added twice,
   * while one whose job finished (completed or failed) is added again.
   */
  enqueue(jobs: readonly JobSpec[]): Promise<void>;
  /** True while a job with this id is waiting, delayed or active. */
  isPending(id: string): Promise<boolean>;
}
