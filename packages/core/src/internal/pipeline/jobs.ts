// Job handlers: what a worker runs for each job kind. They return an outcome the queue honours
// (`done`, or `delay` to run the same job later) and throw only for unexpected failures (the
// store is down), which the queue retries with backoff.

import type { CampaignRecord } from '../domain/types.js';
import type { Job, JobOutcome } from '../ports/job-queue.js';
import type { Context } from './context.js';
import { runPlanJob } from './planner.js';
import { advanceCampaign, closeBatchIfDone } from './progress.js';
import { reconcile } from './reconciler.js';
import { refreshStatuses } from './refresh.js';
import { attemptIdFor, sendAndRecord, takeBudget } from './sender.js';

const DONE: JobOutcome = { status: 'done' };

export async function handleJob(ctx: Context, job: Job): Promise<JobOutcome> {
  switch (job.kind) {
    case 'plan': {
      const { campaignId, scheduleVersion } = job.data as Job<'plan'>['data'];
      return runPlanJob(ctx, campaignId, scheduleVersion);
    }
    case 'batch': {
      const { campaignId, batchNo } = job.data as Job<'batch'>['data'];
      return runBatchJob(ctx, campaignId, batchNo);
    }
    case 'single': {
      const { campaignId, batchNo, messageId } = job.data as Job<'single'>['data'];
      return runSingleJob(ctx, campaignId, batchNo, messageId);
    }
    case 'test':
      return runTestJob(ctx, (job.data as Job<'test'>['data']).messageId);
    case 'refresh':
      await refreshStatuses(ctx, job.data as Job<'refresh'>['data']);
      return DONE;
    case 'reconcile':
      await reconcile(ctx);
      return DONE;
  }
}

/**
 * A batch job checks its campaign first (`isSendable`). Only then does it take rate-limit budget
 * and claim; over budget it is delayed and other traffic accounts go on.
 */
async function runBatchJob(ctx: Context, campaignId: string, batchNo: number): Promise<JobOutcome> {
  const [campaign, batch] = await Promise.all([
    ctx.store.getCampaign(campaignId),
    ctx.store.getBatch(campaignId, batchNo),
  ]);
  if (!campaign || !batch || !['queued', 'sending'].includes(batch.status)) return DONE;
  if (!(await isSendable(ctx, campaign, batchNo))) return DONE;

  const weight = ctx.options.rateBySegments
    ? Math.ceil((batch.segments * batch.counts.queued) / Math.max(1, batch.size))
    : batch.counts.queued;
  const budget = await takeBudget(ctx, campaign.ownerId, campaign.trafficAccountId, weight);
  if (!budget.ok) {
    ctx.metrics.increment('smsbatch_limiter_waits_total', 1, {
      trafficAccountId: campaign.trafficAccountId,
    });
    return { status: 'delay', delayMs: withJitter(budget.retryAfterMs), reason: 'rate limit' };
  }

  const attempt = batch.attempts + 1;
  const attemptId = attemptIdFor(`b${batchNo}-a${attempt}`);
  const now = ctx.clock.now();
  const claimed = await ctx.store.claimMessages(
    { campaignId, batchNo },
    { attemptId, leaseUntil: now + ctx.options.leaseMs, now },
  );
  const log = ctx.logger.child({
    campaignId,
    batchNo,
    ownerId: campaign.ownerId,
    trafficAccountId: campaign.trafficAccountId,
  });
  log.debug({ claimed: claimed.length, attempt }, 'batch claimed');

  const started = ctx.clock.now();
  const result = await sendAndRecord(ctx, claimed, attemptId, 'bulk', attempt, campaign);
  ctx.metrics.observe('smsbatch_batch_duration_ms', ctx.clock.now() - started);

  if (result.requeued > 0) {
    ctx.metrics.increment('smsbatch_retries_total', result.requeued);
    await ctx.store.updateBatch(
      campaignId,
      batchNo,
      { status: 'queued', lastError: result.error, updatedAt: ctx.clock.now() },
      { ifStatus: ['sending'] },
    );
    return {
      status: 'delay',
      delayMs: result.retryInMs,
      reason: result.error ?? 'transient failure',
    };
  }
  await closeBatchIfDone(ctx, campaignId, batchNo, {
    bulkId: result.bulkId,
    lastError: result.error,
  });
  await advanceCampaign(ctx, campaignId);
  return DONE;
}

/**
 * Whether the campaign is sending. A paused one parks the batch (back to `planned`, released
 * again on resume); a cancelled or finished one drops the job.
 */
async function isSendable(
  ctx: Context,
  campaign: CampaignRecord,
  batchNo: number,
): Promise<boolean> {
  if (campaign.status === 'paused') {
    await ctx.store.updateBatch(
      campaign.id,
      batchNo,
      { status: 'planned' },
      { ifStatus: ['queued', 'sending'] },
    );
  }
  return campaign.status === 'sending';
}

/** `USE_BULK_SMS=false`: the same protocol for one message of a batch. */
async function runSingleJob(
  ctx: Context,
  campaignId: string,
  batchNo: number,
  messageId: string,
): Promise<JobOutcome> {
  const campaign = await ctx.store.getCampaign(campaignId);
  if (!campaign) return DONE;
  if (!(await isSendable(ctx, campaign, batchNo))) return DONE;
  const message = await ctx.store.getMessage(messageId);
  if (message?.status !== 'queued') return DONE;

  const budget = await takeBudget(ctx, campaign.ownerId, campaign.trafficAccountId, 1);
  if (!budget.ok) {
    return { status: 'delay', delayMs: withJitter(budget.retryAfterMs), reason: 'rate limit' };
  }

  const attemptId = attemptIdFor(`m-a${message.retryCount + 1}`);
  const now = ctx.clock.now();
  const claimed = await ctx.store.claimMessages(
    { messageIds: [messageId] },
    { attemptId, leaseUntil: now + ctx.options.leaseMs, now },
  );
  if (claimed.length === 0) return DONE;
  const result = await sendAndRecord(
    ctx,
    claimed,
    attemptId,
    'one',
    message.retryCount + 1,
    campaign,
  );
  if (result.requeued > 0) {
    ctx.metrics.increment('smsbatch_retries_total', result.requeued);
    return {
      status: 'delay',
      delayMs: result.retryInMs,
      reason: result.error ?? 'transient failure',
    };
  }
  if (await closeBatchIfDone(ctx, campaignId, batchNo, { lastError: result.error })) {
    await advanceCampaign(ctx, campaignId);
  }
  return DONE;
}

/** A test send: its own hold, no campaign, no rate-limit budget (a handful of messages). */
async function runTestJob(ctx: Context, messageId: string): Promise<JobOutcome> {
  const message = await ctx.store.getMessage(messageId);
  if (message?.status !== 'queued') return DONE;
  const attemptId = attemptIdFor(`t-a${message.retryCount + 1}`);
  const now = ctx.clock.now();
  const claimed = await ctx.store.claimMessages(
    { messageIds: [messageId] },
    { attemptId, leaseUntil: now + ctx.options.leaseMs, now },
  );
  if (claimed.length === 0) return DONE;
  const result = await sendAndRecord(ctx, claimed, attemptId, 'one', message.retryCount + 1);
  if (result.requeued > 0) {
    return {
      status: 'delay',
      delayMs: result.retryInMs,
      reason: result.error ?? 'transient failure',
    };
  }
  return DONE;
}

/**
 * The batches of a campaign's window all learn the same wait from the limiter; waking them at
 * once would let one through and send the others back to sleep. A little spread avoids the herd;
 * the limiter still decides who goes.
 */
function withJitter(retryAfterMs: number): number {
  return retryAfterMs + Math.floor(Math.random() * Math.min(retryAfterMs, 1_000) * 0.5);
}
