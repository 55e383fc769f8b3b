// Moving a campaign along: release the next batches into the queue (at most a window of them),
// close a batch once none of its messages is queued or sending, and settle the campaign once
// none is queued, sending or unknown: reconcile its hold with what the provider accepted and
// release the rest.

import type { BatchStatus } from '../domain/status.js';
import type { BatchRecord, CampaignRecord } from '../domain/types.js';
import type { JobSpec } from '../ports/job-queue.js';
import { batchJob, type Context, holdIdOf, singleJob } from './context.js';

/** Jobs for released batches: one bulk job each, or one job per message without bulk. */
export async function jobsForBatches(
  ctx: Context,
  batches: readonly BatchRecord[],
): Promise<JobSpec[]> {
  if (ctx.options.useBulk) return batches.map(batchJob);
  const jobs: JobSpec[] = [];
  for (const batch of batches) {
    let cursor: string | null = null;
    do {
      const page = await ctx.store.listMessages(batch.campaignId, {
        batchNo: batch.batchNo,
        status: 'queued',
        limit: 1000,
        cursor,
      });
      for (const message of page.items) jobs.push(singleJob(batch, message.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
  }
  return jobs;
}

/**
 * Moves the campaign along after any step: tops its window of queued batches up (while it is
 * `sending`) and settles it if nothing is left in flight. One read of the campaign for both.
 */
export async function advanceCampaign(
  ctx: Context,
  campaignId: string,
  options: SettleOptions = {},
): Promise<{ released: number; settled: boolean }> {
  const campaign = await ctx.store.getCampaign(campaignId);
  if (!campaign) return { released: 0, settled: false };
  let released = 0;
  if (campaign.status === 'sending') {
    const batches = await ctx.store.releaseBatches(campaignId, ctx.options.batchWindow);
    if (batches.length > 0) await ctx.queue.enqueue(await jobsForBatches(ctx, batches));
    released = batches.length;
  }
  const settled = isSettleable(campaign) && (await settle(ctx, campaign, options));
  return { released, settled };
}

/**
 * Gives a batch its final status once nothing of it is queued or sending. Returns true when it
 * did (or the batch was already final).
 */
export async function closeBatchIfDone(
  ctx: Context,
  campaignId: string,
  batchNo: number,
  info: { bulkId?: string | null; lastError?: string | null } = {},
): Promise<boolean> {
  const batch = await ctx.store.getBatch(campaignId, batchNo);
  if (!batch) return true;
  const { counts } = batch;
  if (counts.queued + counts.sending > 0) return false;
  const status: BatchStatus =
    counts.unknown > 0
      ? 'unknown'
      : counts.sent + counts.delivered === 0 && counts.failed > 0
        ? 'failed'
        : 'completed';
  await ctx.store.updateBatch(
    campaignId,
    batchNo,
    {
      status,
      updatedAt: ctx.clock.now(),
      ...(info.bulkId ? { bulkId: info.bulkId } : {}),
      ...(info.lastError !== undefined ? { lastError: info.lastError } : {}),
    },
    { ifStatus: ['queued', 'sending', 'planned'] },
  );
  return true;
}

/** The campaign has nothing left in flight (and, unless cancelled, everything was planned). */
export function isSettleable(campaign: CampaignRecord): boolean {
  if (campaign.finishedAt !== null) return false;
  if (!['sending', 'paused', 'cancelled'].includes(campaign.status)) return false;
  if (campaign.status !== 'cancelled' && !campaign.plan.done) return false;
  const { queued, sending, unknown } = campaign.counts;
  return queued + sending + unknown === 0;
}

export interface SettleOptions {
  /**
   * While the provider accepted more than the hold captured, a capture is usually on its way (a
   * step between its store write and its ledger call), so the campaign waits for it. Only the
   * reconciler passes this: once no batch of the campaign moved for that long, the missing
   * capture was lost (a crash, a failed ledger call) and settlement makes it.
   */
  repairAfterQuietMs?: number;
}

/** Closes the hold and gives the campaign its final status; idempotent. */
async function settle(
  ctx: Context,
  campaign: CampaignRecord,
  options: SettleOptions,
): Promise<boolean> {
  const log = ctx.logger.child({ campaignId: campaign.id, ownerId: campaign.ownerId });
  if (campaign.holdId !== null && !(await reconcileHold(ctx, campaign, log, options))) {
    return false;
  }
  const finalStatus =
    campaign.status === 'cancelled'
      ? 'cancelled'
      : campaign.acceptedCost > 0
        ? 'completed'
        : 'failed';
  const now = ctx.clock.now();
  const settled = await ctx.store.updateCampaign(
    campaign.id,
    { status: finalStatus, finishedAt: now, updatedAt: now },
    { ifStatus: [campaign.status] },
  );
  if (settled) {
    log.info({ status: finalStatus, counts: settled.counts }, 'campaign settled');
    ctx.metrics.increment('smsbatch_campaigns_settled_total', 1, { status: finalStatus });
  }
  return settled !== null;
}

/**
 * Brings the hold in line with what the provider accepted, then releases the rest and closes it.
 * Returns false (and changes nothing) while a capture may still be on its way.
 */
async function reconcileHold(
  ctx: Context,
  campaign: CampaignRecord,
  log: Context['logger'],
  options: SettleOptions,
): Promise<boolean> {
  const holdId = campaign.holdId!;
  let captured = 0;
  for (let generation = 0; generation <= campaign.holdGeneration; generation++) {
    const hold = await ctx.ledger.getHold(holdIdOf(campaign.id, generation));
    captured += hold?.captured ?? 0;
  }
  const owed = campaign.acceptedCost - captured;
  const meta = { campaignId: campaign.id };
  if (owed > 0) {
    if (options.repairAfterQuietMs === undefined) return false;
    const lastMove = await lastBatchMove(ctx, campaign);
    if (ctx.clock.now() - lastMove < options.repairAfterQuietMs) return false;
    log.warn({ owed }, 'capturing accepted messages the hold missed');
    ctx.metrics.increment('smsbatch_ledger_repairs_total');
    await ctx.ledger.capture(holdId, owed, `${holdId}-settle-cap-${captured}`, {
      ...meta,
      reason: 'settlement',
    });
  } else if (owed < 0) {
    log.error({ owed }, 'hold captured more than the provider accepted');
    ctx.metrics.increment('smsbatch_ledger_mismatch_total');
  }
  await ctx.ledger.release(
    holdId,
    { entryId: `${holdId}-settle-rel` },
    { ...meta, reason: 'settlement' },
  );
  return true;
}

/** When a message of the campaign last changed (every transition touches its batch). */
async function lastBatchMove(ctx: Context, campaign: CampaignRecord): Promise<number> {
  let latest = campaign.updatedAt;
  let cursor: string | null = null;
  do {
    const page = await ctx.store.listBatches(campaign.id, { limit: 1000, cursor });
    for (const batch of page.items) latest = Math.max(latest, batch.updatedAt);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return latest;
}
