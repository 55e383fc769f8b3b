// The reconciler: one idempotent pass that repairs whatever a crash, a lost Redis or a lost
// answer left behind, with the store as the source of truth. Expired leases become `unknown`;
// `unknown` past the window becomes `failed` (`unconfirmed`) and releases its credits; pending
// delivery events are tried again; queued work without a live job is re-enqueued; finished
// batches are closed and finished campaigns settled.

import type { CampaignRecord, MessageRecord } from '../domain/types.js';
import type { MessageTransition } from '../ports/campaign-store.js';
import type { JobSpec } from '../ports/job-queue.js';
import { countTransitions, settleCredits, stepId } from './accounting.js';
import { batchJob, type Context, planJob, randomToken, testJob } from './context.js';
import { processDeliveryEvents } from './delivery.js';
import { advanceCampaign, closeBatchIfDone, jobsForBatches } from './progress.js';

export interface ReconcileReport {
  leasesExpired: number;
  unconfirmed: number;
  pendingEventsApplied: number;
  jobsRequeued: number;
  campaignsSettled: number;
}

export async function reconcile(ctx: Context): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    leasesExpired: await expireLeases(ctx),
    unconfirmed: await failUnconfirmed(ctx),
    pendingEventsApplied: await retryPendingEvents(ctx),
    jobsRequeued: 0,
    campaignsSettled: 0,
  };
  report.jobsRequeued += await requeueLostTestSends(ctx);
  let cursor: string | null = null;
  do {
    const page = await ctx.store.listCampaigns({
      statuses: ['scheduled', 'sending', 'paused', 'cancelled'],
      limit: 100,
      cursor,
    });
    for (const campaign of page.items) {
      if (campaign.finishedAt !== null) continue;
      try {
        report.jobsRequeued += await recoverCampaign(ctx, campaign);
        const progress = await advanceCampaign(ctx, campaign.id, {
          repairAfterQuietMs: ctx.options.staleAfterMs,
        });
        report.jobsRequeued += progress.released;
        if (progress.settled) report.campaignsSettled += 1;
      } catch (error) {
        // One campaign's trouble must not stop the pass for the others; the next pass retries.
        ctx.logger.error({ err: error, campaignId: campaign.id }, 'reconciling a campaign failed');
        ctx.metrics.increment('smsbatch_reconcile_errors_total');
      }
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  if (Object.values(report).some((n) => n > 0)) ctx.logger.info({ ...report }, 'reconciled');
  return report;
}

/**
 * A worker that died mid-send leaves `sending` messages. Past their lease they are `unknown`,
 * unless their batch shows the attempt never reached the provider (claimed, not dispatched):
 * those were never sent and go back to `queued`.
 */
async function expireLeases(ctx: Context): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = await ctx.store.scanMessages({
      status: 'sending',
      leaseExpiredBefore: ctx.clock.now(),
      limit: ctx.options.scanLimit,
    });
    if (expired.length === 0) return total;
    const undispatched = await undispatchedAttempts(ctx, expired);
    const applied = await ctx.store.applyTransitions(
      expired.map((m): MessageTransition => {
        const guard = {
          id: m.id,
          from: 'sending' as const,
          ...(m.attemptId ? { attemptId: m.attemptId } : {}),
        };
        return m.attemptId !== null && undispatched.has(m.attemptId)
          ? {
              ...guard,
              to: 'queued',
              set: { error: 'lease expired before sending', incrementRetry: true },
            }
          : { ...guard, to: 'unknown', set: { error: 'lease expired: send outcome unknown' } };
      }),
      { now: ctx.clock.now() },
    );
    countTransitions(ctx, applied, 'reconciler');
    total += applied.length;
    if (expired.length < ctx.options.scanLimit) return total;
  }
}

/** Attempt ids of batch claims that were never handed to the provider. */
async function undispatchedAttempts(
  ctx: Context,
  messages: readonly MessageRecord[],
): Promise<Set<string>> {
  const batches = new Map<string, { campaignId: string; batchNo: number }>();
  for (const m of messages) {
    if (m.campaignId !== null && m.batchNo !== null) {
      batches.set(`${m.campaignId}/${m.batchNo}`, { campaignId: m.campaignId, batchNo: m.batchNo });
    }
  }
  const out = new Set<string>();
  for (const { campaignId, batchNo } of batches.values()) {
    const batch = await ctx.store.getBatch(campaignId, batchNo);
    if (batch?.attemptId && batch.dispatchedAttemptId !== batch.attemptId) out.add(batch.attemptId);
  }
  return out;
}

/** No report came for an ambiguous send within the window: it is failed and not charged. */
async function failUnconfirmed(ctx: Context): Promise<number> {
  const cutoff = ctx.clock.now() - ctx.options.unconfirmedAfterMs;
  return sweep(ctx, { status: 'unknown', updatedBefore: cutoff }, (m) => ({
    id: m.id,
    from: 'unknown',
    to: 'failed',
    set: { error: 'unconfirmed', isRetryable: false },
  }));
}

async function sweep(
  ctx: Context,
  scan:
    | { status: 'sending'; leaseExpiredBefore: number }
    | { status: 'unknown'; updatedBefore: number },
  transition: (message: MessageRecord) => MessageTransition,
): Promise<number> {
  let total = 0;
  for (;;) {
    const found = await ctx.store.scanMessages({ ...scan, limit: ctx.options.scanLimit });
    if (found.length === 0) return total;
    const applied = await ctx.store.applyTransitions(found.map(transition), {
      now: ctx.clock.now(),
    });
    await settleCredits(ctx, applied, stepId(`rec-${scan.status}`, applied));
    total += applied.length;
    countTransitions(ctx, applied, 'reconciler');
    if (found.length < ctx.options.scanLimit) return total;
  }
}

async function retryPendingEvents(ctx: Context): Promise<number> {
  const events = await ctx.store.listPendingDeliveryEvents({
    receivedBefore: ctx.clock.now() - ctx.options.pendingEventRetryMs,
    limit: ctx.options.scanLimit,
  });
  return (await processDeliveryEvents(ctx, events)).applied;
}

async function requeueLostTestSends(ctx: Context): Promise<number> {
  const stale = await ctx.store.scanMessages({
    status: 'queued',
    kind: 'test',
    updatedBefore: ctx.clock.now() - ctx.options.staleAfterMs,
    limit: ctx.options.scanLimit,
  });
  return enqueueMissing(
    ctx,
    stale.map((m) => testJob(m.id)),
  );
}

/** Re-enqueues the campaign's lost jobs: the planner, a scheduled start, queued batches. */
async function recoverCampaign(ctx: Context, campaign: CampaignRecord): Promise<number> {
  const now = ctx.clock.now();
  if (campaign.status === 'scheduled') {
    return enqueueMissing(ctx, [planJob(campaign, (campaign.scheduledAt ?? now) - now)]);
  }
  if (campaign.status === 'cancelled') {
    // A batch claimed before the cancel may have requeued messages after it: cancel them too.
    if (campaign.counts.queued > 0) {
      const change = await ctx.store.cancelQueued(campaign.id, { now });
      if (change.cost > 0 && campaign.holdId !== null) {
        await ctx.ledger.release(
          campaign.holdId,
          { amount: change.cost, entryId: `${campaign.holdId}-cancel-${randomToken()}` },
          { campaignId: campaign.id, reason: 'cancelled' },
        );
      }
    }
    return 0;
  }
  let requeued = 0;
  if (campaign.status === 'sending' && !campaign.plan.done) {
    requeued += await enqueueMissing(ctx, [planJob(campaign)]);
  }
  let cursor: string | null = null;
  do {
    const page = await ctx.store.listBatches(campaign.id, {
      statuses: ['queued', 'sending'],
      limit: 100,
      cursor,
    });
    for (const batch of page.items) {
      if (batch.updatedAt > now - ctx.options.staleAfterMs) continue;
      if (await closeBatchIfDone(ctx, campaign.id, batch.batchNo)) continue;
      if (campaign.status !== 'sending' || batch.counts.queued === 0) continue;
      if (ctx.options.useBulk) {
        if (await ctx.queue.isPending(batchJob(batch).id)) continue;
        // A new release number gives a new job id: a finished job of the same id may linger.
        const bumped = await ctx.store.updateBatch(
          campaign.id,
          batch.batchNo,
          { status: 'queued', releases: batch.releases + 1, updatedAt: now },
          { ifStatus: [batch.status] },
        );
        if (bumped) {
          await ctx.queue.enqueue([batchJob(bumped)]);
          requeued += 1;
        }
      } else {
        requeued += await enqueueMissing(ctx, await jobsForBatches(ctx, [batch]));
      }
    }
    cursor = page.nextCursor;
  } while (cursor !== null);
  return requeued;
}

async function enqueueMissing(ctx: Context, jobs: readonly JobSpec[]): Promise<number> {
  const missing: JobSpec[] = [];
  for (const job of jobs) {
    if (!(await ctx.queue.isPending(job.id))) missing.push(job);
  }
  if (missing.length > 0) await ctx.queue.enqueue(missing);
  return missing.length;
}
