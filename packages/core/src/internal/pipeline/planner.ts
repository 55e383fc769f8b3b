// The planner turns a campaign's stored recipients into messages, one chunk per job: drop
// duplicates, invalid and suppressed numbers (`skipped`, their credits released), render each
// text once, number the sendable messages and cut them into whole batches. A chunk lands in one
// atomic, compare-and-set store write, so a re-run of the same job is a no-op, and the next
// chunk is a new job: memory stays flat whatever the audience size.

import type { CampaignStatus } from '../domain/status.js';
import type {
  CampaignRecord,
  NewBatch,
  NewMessage,
  PlanCursor,
  RecipientRow,
} from '../domain/types.js';
import { batchOf } from '../planning/batch-size.js';
import type { JobOutcome } from '../ports/job-queue.js';
import { type Context, planJob } from './context.js';
import { advanceCampaign } from './progress.js';
import { createTextPreparer } from './text.js';

const PLANNABLE: readonly CampaignStatus[] = ['sending', 'paused'];

export async function runPlanJob(
  ctx: Context,
  campaignId: string,
  scheduleVersion: number,
): Promise<JobOutcome> {
  let campaign = await ctx.store.getCampaign(campaignId);
  if (!campaign || campaign.scheduleVersion !== scheduleVersion) return { status: 'done' };
  if (campaign.status === 'scheduled') {
    const wait = (campaign.scheduledAt ?? 0) - ctx.clock.now();
    if (wait > 0) return { status: 'delay', delayMs: wait, reason: 'scheduled' };
    const now = ctx.clock.now();
    campaign = await ctx.store.updateCampaign(
      campaignId,
      { status: 'sending', startedAt: now, updatedAt: now },
      { ifStatus: ['scheduled'] },
    );
    if (!campaign || campaign.scheduleVersion !== scheduleVersion) return { status: 'done' };
  }
  if (!PLANNABLE.includes(campaign.status)) return { status: 'done' };
  if (campaign.plan.done) {
    await advanceCampaign(ctx, campaignId);
    return { status: 'done' };
  }

  const chunk = await planChunk(ctx, campaign);
  const applied = await ctx.store.appendPlanChunk({
    campaignId,
    expected: campaign.plan,
    next: chunk.next,
    ifStatus: PLANNABLE,
    messages: chunk.messages,
    batches: chunk.batches,
  });
  if (!applied) return { status: 'done' };
  ctx.metrics.increment('smsbatch_planned_messages_total', chunk.messages.length);
  if (chunk.skippedCost > 0 && campaign.holdId !== null) {
    await ctx.ledger.release(
      campaign.holdId,
      { amount: chunk.skippedCost, entryId: `plan-${campaignId}-c${campaign.plan.chunkNo}` },
      { campaignId, reason: 'skipped recipients' },
    );
  }
  if (!chunk.next.done) await ctx.queue.enqueue([planJob({ ...campaign, plan: chunk.next })]);
  await advanceCampaign(ctx, campaignId);
  return { status: 'done' };
}

interface PlannedChunk {
  next: PlanCursor;
  messages: NewMessage[];
  batches: NewBatch[];
  skippedCost: number;
}

/**
 * Reads recipients until the chunk holds `planChunkBatches` whole batches (or the audience
 * ends), then cuts at the last whole batch: the rest is read again by the next chunk, so no batch
 * ever spans two chunks.
 */
async function planChunk(ctx: Context, campaign: CampaignRecord): Promise<PlannedChunk> {
  const { batchSize } = campaign;
  const target = batchSize * ctx.options.planChunkBatches;
  const prepare = createTextPreparer(ctx, campaign);
  const now = ctx.clock.now();

  const messages: NewMessage[] = [];
  const queuedSeqs: number[] = [];
  const seenPhones = new Set<string>();
  let nextSeq = campaign.plan.nextSeq;
  let planned = campaign.plan.planned;
  let plannedCost = campaign.plan.plannedCost;
  let exhausted = false;

  // Stop at the target, or earlier once a whole batch is in hand and skipped rows pile up.
  const enough = () =>
    queuedSeqs.length >= target ||
    (queuedSeqs.length >= batchSize && messages.length >= 4 * target);
  while (!enough()) {
    const rows = await ctx.store.readRecipients(campaign.id, nextSeq, ctx.options.planReadSize);
    if (rows.length === 0) {
      exhausted = true;
      break;
    }
    const verdicts = await screen(ctx, campaign, rows, seenPhones);
    for (const row of rows) {
      const text = prepare(row);
      let error = verdicts.get(row.seq) ?? null;
      if (error === null && plannedCost + text.cost > campaign.estimatedCost) {
        error = 'over_reservation';
      }
      const batchNo = error === null ? batchOf(planned, batchSize) : null;
      messages.push({
        id: `${campaign.id}-${row.seq}`,
        kind: 'campaign',
        campaignId: campaign.id,
        ownerId: campaign.ownerId,
        seq: row.seq,
        batchNo,
        contactId: row.contactId,
        phone: row.phone,
        text: text.text,
        sender: campaign.sender,
        trafficAccountId: campaign.trafficAccountId,
        encoding: text.encoding,
        segments: text.segments,
        cost: text.cost,
        status: error === null ? 'queued' : 'skipped',
        error,
        isRetryable: false,
        createdAt: now,
      });
      if (error === null) {
        seenPhones.add(row.phone);
        queuedSeqs.push(row.seq);
        planned += 1;
        plannedCost += text.cost;
      }
      nextSeq = row.seq + 1;
    }
  }

  // Cut at the last whole batch unless the audience ended: what follows is re-read next time.
  const firstBatch = batchOf(campaign.plan.planned, batchSize);
  const wholeBatches = exhausted
    ? Math.ceil(planned / batchSize) - firstBatch
    : Math.floor(planned / batchSize) - firstBatch;
  const keepQueued = exhausted ? queuedSeqs.length : Math.max(0, wholeBatches) * batchSize;
  if (!exhausted && keepQueued < queuedSeqs.length) {
    const cutSeq = queuedSeqs[keepQueued]!;
    const kept = messages.filter((m) => m.seq < cutSeq);
    messages.length = 0;
    messages.push(...kept);
    nextSeq = cutSeq;
    planned = campaign.plan.planned + keepQueued;
    plannedCost =
      campaign.plan.plannedCost +
      kept.reduce((sum, m) => sum + (m.status === 'queued' ? m.cost : 0), 0);
  }

  const batches = new Map<number, NewBatch>();
  let skippedCost = 0;
  for (const message of messages) {
    if (message.batchNo === null) {
      skippedCost += message.cost;
      continue;
    }
    const batch = batches.get(message.batchNo) ?? {
      batchNo: message.batchNo,
      size: 0,
      segments: 0,
      cost: 0,
    };
    batch.size += 1;
    batch.segments += message.segments;
    batch.cost += message.cost;
    batches.set(message.batchNo, batch);
  }

  return {
    next: {
      nextSeq,
      planned,
      plannedCost,
      chunkNo: campaign.plan.chunkNo + 1,
      done: exhausted,
    },
    messages,
    batches: [...batches.values()],
    skippedCost,
  };
}

/**
 * Why each row of a read is skipped: invalid phone, duplicate (in this chunk or already planned)
 * or suppressed. Rows missing from the map are sendable.
 */
async function screen(
  ctx: Context,
  campaign: CampaignRecord,
  rows: readonly RecipientRow[],
  seenPhones: ReadonlySet<string>,
): Promise<Map<number, string>> {
  const verdicts = new Map<number, string>();
  const candidates = new Map<string, number>();
  for (const row of rows) {
    if (row.phoneError !== null) verdicts.set(row.seq, `invalid_phone: ${row.phoneError}`);
    else if (seenPhones.has(row.phone) || candidates.has(row.phone))
      verdicts.set(row.seq, 'duplicate');
    else candidates.set(row.phone, row.seq);
  }
  const phones = [...candidates.keys()];
  if (phones.length === 0) return verdicts;
  const [taken, suppressed] = await Promise.all([
    ctx.store.findTakenPhones(campaign.id, phones),
    ctx.suppression?.filterSuppressed(campaign.ownerId, phones) ?? new Set<string>(),
  ]);
  for (const phone of taken) verdicts.set(candidates.get(phone)!, 'duplicate');
  for (const phone of suppressed) {
    const seq = candidates.get(phone)!;
    if (!verdicts.has(seq)) verdicts.set(seq, 'suppressed');
  }
  return verdicts;
}
