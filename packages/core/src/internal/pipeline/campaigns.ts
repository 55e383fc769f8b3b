// Campaign operations as an app calls them: create, enqueue (now or scheduled), pause, resume,
// cancel, retry-failed, and the read side. Every call is scoped to an owner: another owner's
// campaign is "not found". Enqueue does no per-recipient work: it reserves the cost computed at
// create as one hold and adds one planner job.

import { z } from 'zod';
import type { CampaignStatus, MessageStatus } from '../domain/status.js';
import type {
  BatchRecord,
  CampaignRecord,
  MessageRecord,
  Page,
  Recipient,
} from '../domain/types.js';
import {
  ConflictError,
  NotFoundError,
  SubscriptionInactiveError,
  ValidationError,
} from '../errors.js';
import { chooseBatchSize } from '../planning/batch-size.js';
import type { AudienceSource } from '../ports/app.js';
import { validateTemplate } from '../text/prepare.js';
import { parseInput } from '../validation.js';
import { type Context, holdIdOf, planJob, randomToken } from './context.js';
import { advanceCampaign } from './progress.js';
import { resolveRouting } from './routing.js';
import { createTextPreparer } from './text.js';

const idSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,36}$/, 'letters, digits, _ and -, at most 36 characters');

const recipientSchema = z
  .object({
    phone: z.string().min(1).max(64),
    contactId: z.string().max(128).nullish(),
    vars: z.record(z.string(), z.string()).optional(),
  })
  .strict();

const createSchema = z
  .object({
    id: idSchema.optional(),
    name: z.string().trim().min(1).max(200),
    text: z.string().min(1).max(5000),
    sender: z.string().optional(),
    trafficAccountId: z.string().min(1).max(128).optional(),
  })
  .strict();

export type CreateCampaignInput = z.input<typeof createSchema> & {
  /** The audience: an array, or any (async) iterable streamed in chunks. */
  recipients: AudienceSource;
};

export interface CampaignSummary {
  id: string;
  status: CampaignStatus;
  total: number;
}

export interface CampaignStatusView extends Record<MessageStatus, number> {
  id: string;
  name: string;
  status: CampaignStatus;
  total: number;
  creditsReserved: number;
  creditsDebited: number;
  scheduledAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  createdAt: number;
}

const IMPORT_CHUNK = 1000;

export function createCampaignService(ctx: Context) {
  const getOwned = async (ownerId: string, id: string): Promise<CampaignRecord> => {
    const campaign = await ctx.store.getCampaign(id);
    if (!campaign || campaign.ownerId !== ownerId) throw new NotFoundError('campaign', id);
    return campaign;
  };

  const statusView = async (campaign: CampaignRecord): Promise<CampaignStatusView> => {
    const unplanned =
      campaign.plan.done || campaign.status === 'draft'
        ? 0
        : campaign.total - campaign.plan.nextSeq;
    let creditsReserved = 0;
    let creditsDebited = 0;
    if (campaign.holdId !== null) {
      for (let generation = 0; generation <= campaign.holdGeneration; generation++) {
        const hold = await ctx.ledger.getHold(holdIdOf(campaign.id, generation));
        if (!hold) continue;
        creditsDebited += hold.captured;
        if (!hold.isClosed) creditsReserved += hold.remaining;
      }
    }
    const { counts } = campaign;
    const isCancelled = campaign.status === 'cancelled';
    return {
      id: campaign.id,
      name: campaign.name,
      status: campaign.status,
      total: campaign.total,
      ...counts,
      queued: counts.queued + (isCancelled ? 0 : unplanned),
      cancelled: counts.cancelled + (isCancelled ? unplanned : 0),
      creditsReserved,
      creditsDebited,
      scheduledAt: campaign.scheduledAt,
      startedAt: campaign.startedAt,
      finishedAt: campaign.finishedAt,
      createdAt: campaign.createdAt,
    };
  };

  /** Moves the campaign from one of `from` to `to`, or says why it cannot. */
  const transition = async (
    campaign: CampaignRecord,
    from: readonly CampaignStatus[],
    patch: Parameters<Context['store']['updateCampaign']>[1],
    action: string,
  ): Promise<CampaignRecord> => {
    if (!from.includes(campaign.status)) {
      throw new ConflictError(`cannot ${action} a campaign that is ${campaign.status}`);
    }
    const updated = await ctx.store.updateCampaign(
      campaign.id,
      { ...patch, updatedAt: ctx.clock.now() },
      { ifStatus: from },
    );
    if (!updated) {
      const now = await ctx.store.getCampaign(campaign.id);
      throw new ConflictError(`cannot ${action} a campaign that is ${now?.status ?? 'gone'}`);
    }
    return updated;
  };

  return {
    /**
     * Stores the campaign as a draft with its audience: phones normalised (invalid ones kept,
     * with the reason, to be skipped), and the cost of every message computed, so enqueue can
     * reserve it without touching a recipient.
     */
    async create(ownerId: string, input: CreateCampaignInput): Promise<CampaignRecord> {
      const { recipients, ...fields } = input;
      const parsed = parseInput(createSchema, fields);
      const templateIssues = validateTemplate(parsed.text);
      if (templateIssues.length > 0) {
        throw new ValidationError(templateIssues.map((message) => ({ path: ['text'], message })));
      }
      const { sender, trafficAccountId } = await resolveRouting(ctx, ownerId, parsed);
      if (Array.isArray(recipients) && recipients.length === 0) {
        throw new ValidationError([{ path: ['recipients'], message: 'at least one recipient' }]);
      }

      const now = ctx.clock.now();
      const id = parsed.id ?? `c${now.toString(36)}${randomToken(6)}`;
      const campaign = await ctx.store.createCampaign({
        id,
        ownerId,
        name: parsed.name,
        text: parsed.text,
        sender,
        trafficAccountId,
        status: 'draft',
        total: 0,
        estimatedCost: 0,
        holdId: null,
        holdGeneration: 0,
        batchSize: 0,
        plan: { nextSeq: 0, planned: 0, plannedCost: 0, chunkNo: 0, done: false },
        scheduleVersion: 0,
        scheduledAt: null,
        startedAt: null,
        finishedAt: null,
        createdAt: now,
      });

      const prepare = createTextPreparer(ctx, campaign);
      let seq = 0;
      let estimatedCost = 0;
      let chunk: Parameters<Context['store']['insertRecipients']>[1][number][] = [];
      for await (const raw of recipients as AsyncIterable<Recipient>) {
        const recipient = parseInput(recipientSchema, raw);
        const phone = ctx.normalizePhone(recipient.phone);
        const row = {
          seq,
          phone: phone.ok ? phone.e164 : recipient.phone,
          phoneError: phone.ok ? null : phone.reason,
          contactId: recipient.contactId ?? null,
          vars: recipient.vars ?? {},
        };
        estimatedCost += prepare(row).cost;
        chunk.push(row);
        seq += 1;
        if (chunk.length >= IMPORT_CHUNK) {
          await ctx.store.insertRecipients(id, chunk);
          chunk = [];
        }
      }
      if (chunk.length > 0) await ctx.store.insertRecipients(id, chunk);

      const stored = await ctx.store.updateCampaign(id, {
        total: seq,
        estimatedCost,
        batchSize: chooseBatchSize(seq, ctx.options.batchSize),
        updatedAt: ctx.clock.now(),
      });
      ctx.logger.info({ campaignId: id, ownerId, total: seq, estimatedCost }, 'campaign created');
      return stored!;
    },

    /**
     * Reserves the campaign's cost as one hold and starts it (or schedules it). A second enqueue
     * is a ConflictError, never a second send.
     */
    async enqueue(
      ownerId: string,
      id: string,
      options: { scheduledAt?: number | null } = {},
    ): Promise<CampaignSummary> {
      const campaign = await getOwned(ownerId, id);
      if (campaign.status !== 'draft') {
        throw new ConflictError(`cannot enqueue a campaign that is ${campaign.status}`);
      }
      if (campaign.total === 0) throw new ConflictError('the campaign has no recipients');
      const decision = (await ctx.subscription?.check(ownerId)) ?? { isAllowed: true as const };
      if (!decision.isAllowed) throw new SubscriptionInactiveError(decision.reason);

      const holdId = holdIdOf(id, 0);
      await ctx.ledger.reserve(ownerId, campaign.estimatedCost, holdId, {
        campaignId: id,
        reason: 'campaign enqueued',
      });
      const now = ctx.clock.now();
      const scheduledAt = options.scheduledAt ?? null;
      const isScheduled = scheduledAt !== null && scheduledAt > now;
      const started = await ctx.store.updateCampaign(
        id,
        {
          status: isScheduled ? 'scheduled' : 'sending',
          holdId,
          scheduleVersion: campaign.scheduleVersion + 1,
          scheduledAt,
          startedAt: isScheduled ? null : now,
          updatedAt: now,
        },
        { ifStatus: ['draft'] },
      );
      if (!started) {
        const current = await ctx.store.getCampaign(id);
        // Lost a race: keep the hold if the winner enqueued with it, release it otherwise.
        if (current?.holdId !== holdId) {
          await ctx.ledger.release(holdId, { entryId: `${holdId}-abandoned` }, { campaignId: id });
        }
        throw new ConflictError(`cannot enqueue a campaign that is ${current?.status ?? 'gone'}`);
      }
      await ctx.queue.enqueue([planJob(started, isScheduled ? scheduledAt - now : 0)]);
      ctx.logger.info({ campaignId: id, ownerId, status: started.status }, 'campaign enqueued');
      return { id, status: started.status, total: started.total };
    },

    /** Moves a scheduled campaign's start; the old delayed planner job becomes stale. */
    async reschedule(ownerId: string, id: string, scheduledAt: number): Promise<CampaignSummary> {
      const campaign = await getOwned(ownerId, id);
      const now = ctx.clock.now();
      if (!Number.isFinite(scheduledAt)) {
        throw new ValidationError([{ path: ['scheduledAt'], message: 'not a time' }]);
      }
      const updated = await transition(
        campaign,
        ['scheduled'],
        { scheduledAt, scheduleVersion: campaign.scheduleVersion + 1 },
        'reschedule',
      );
      await ctx.queue.enqueue([planJob(updated, scheduledAt - now)]);
      return { id, status: updated.status, total: updated.total };
    },

    async pause(ownerId: string, id: string): Promise<CampaignSummary> {
      const updated = await transition(
        await getOwned(ownerId, id),
        ['sending'],
        { status: 'paused' },
        'pause',
      );
      return { id, status: updated.status, total: updated.total };
    },

    async resume(ownerId: string, id: string): Promise<CampaignSummary> {
      const updated = await transition(
        await getOwned(ownerId, id),
        ['paused'],
        { status: 'sending' },
        'resume',
      );
      if (!updated.plan.done) await ctx.queue.enqueue([planJob(updated)]);
      await advanceCampaign(ctx, id);
      return { id, status: updated.status, total: updated.total };
    },

    /**
     * Messages not claimed yet become `cancelled` and their credits are released; those in flight
     * finish, and the campaign settles once they have.
     */
    async cancel(ownerId: string, id: string): Promise<CampaignSummary> {
      const campaign = await getOwned(ownerId, id);
      const now = ctx.clock.now();
      const neverStarted = campaign.status === 'draft' || campaign.status === 'scheduled';
      const updated = await transition(
        campaign,
        ['draft', 'scheduled', 'sending', 'paused'],
        { status: 'cancelled', ...(neverStarted ? { finishedAt: now } : {}) },
        'cancel',
      );
      const holdId = updated.holdId ?? holdIdOf(id, 0);
      if (neverStarted) {
        if (await ctx.ledger.getHold(holdId)) {
          await ctx.ledger.release(
            holdId,
            { entryId: `${holdId}-cancel` },
            { campaignId: id, reason: 'cancelled' },
          );
        }
      } else {
        const change = await ctx.store.cancelQueued(id, { now });
        if (change.cost > 0) {
          await ctx.ledger.release(
            holdId,
            { amount: change.cost, entryId: `${holdId}-cancel` },
            { campaignId: id, reason: 'cancelled' },
          );
        }
        await advanceCampaign(ctx, id);
      }
      ctx.logger.info({ campaignId: id, ownerId }, 'campaign cancelled');
      return { id, status: 'cancelled', total: updated.total };
    },

    /**
     * Sends again the messages that failed for a retryable reason (transient errors that
     * exhausted their attempts), under a fresh hold. Only for a settled campaign.
     */
    async retryFailed(ownerId: string, id: string): Promise<{ id: string; requeued: number }> {
      const campaign = await getOwned(ownerId, id);
      if (campaign.status !== 'completed' && campaign.status !== 'failed') {
        throw new ConflictError(`cannot retry a campaign that is ${campaign.status}`);
      }
      let cost = 0;
      let cursor: string | null = null;
      do {
        const page: Page<MessageRecord> = await ctx.store.listMessages(id, {
          status: 'failed',
          limit: 1000,
          cursor,
        });
        for (const message of page.items) if (message.isRetryable) cost += message.cost;
        cursor = page.nextCursor;
      } while (cursor !== null);
      if (cost === 0) return { id, requeued: 0 };

      const generation = campaign.holdGeneration + 1;
      const holdId = holdIdOf(id, generation);
      await ctx.ledger.reserve(ownerId, cost, holdId, { campaignId: id, reason: 'retry failed' });
      await transition(
        campaign,
        ['completed', 'failed'],
        { status: 'sending', holdId, holdGeneration: generation, finishedAt: null },
        'retry',
      );
      const change = await ctx.store.requeueFailed(id, { now: ctx.clock.now() });
      if (change.cost < cost) {
        await ctx.ledger.release(
          holdId,
          { amount: cost - change.cost, entryId: `${holdId}-surplus` },
          { campaignId: id, reason: 'retry surplus' },
        );
      }
      await advanceCampaign(ctx, id);
      return { id, requeued: change.count };
    },

    async get(ownerId: string, id: string): Promise<CampaignRecord> {
      return getOwned(ownerId, id);
    },

    /** The aggregates of the HTTP contract; recipients not planned yet count as queued. */
    async status(ownerId: string, id: string): Promise<CampaignStatusView> {
      return statusView(await getOwned(ownerId, id));
    },

    /** A page of the owner's campaigns as status views, newest first. */
    async statuses(
      ownerId: string,
      query: { limit?: number; cursor?: string | null } = {},
    ): Promise<Page<CampaignStatusView>> {
      const page = await ctx.store.listCampaigns({
        ownerId,
        limit: clampLimit(query.limit),
        cursor: query.cursor ?? null,
      });
      return { items: await Promise.all(page.items.map(statusView)), nextCursor: page.nextCursor };
    },

    /**
     * Asks a worker to look up the campaign's `sent` messages now (a `refresh` job); one such job
     * per campaign is pending at a time.
     */
    async refreshStatuses(ownerId: string, id: string): Promise<{ id: string }> {
      await getOwned(ownerId, id);
      await ctx.queue.enqueue([{ kind: 'refresh', id: `refresh-${id}`, data: { campaignId: id } }]);
      return { id };
    },

    async messages(
      ownerId: string,
      id: string,
      query: { status?: MessageStatus; limit?: number; cursor?: string | null } = {},
    ): Promise<Page<MessageRecord>> {
      await getOwned(ownerId, id);
      return ctx.store.listMessages(id, {
        ...(query.status ? { status: query.status } : {}),
        limit: clampLimit(query.limit),
        cursor: query.cursor ?? null,
      });
    },

    async batches(
      ownerId: string,
      id: string,
      query: { limit?: number; cursor?: string | null } = {},
    ): Promise<Page<BatchRecord>> {
      await getOwned(ownerId, id);
      return ctx.store.listBatches(id, {
        limit: clampLimit(query.limit, 1000),
        cursor: query.cursor ?? null,
      });
    },
  };
}

export type CampaignService = ReturnType<typeof createCampaignService>;

function clampLimit(limit: number | undefined, max = 500): number {
  if (limit === undefined) return 100;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError([{ path: ['limit'], message: 'a positive integer' }]);
  }
  return Math.min(limit, max);
}
