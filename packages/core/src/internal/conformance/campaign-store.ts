// The CampaignStore conformance kit: the port's contract as tests. Our in-memory and PostgreSQL
// stores run it, and so can an app's own store (Prisma, say): `describeCampaignStore(name, factory)`
// inside a vitest file. One store serves the whole suite; every test uses fresh ids.

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyCounts, type MessageStatus } from '../domain/status.js';
import type {
  CampaignRecord,
  NewBatch,
  NewCampaign,
  NewMessage,
  StoredDeliveryEvent,
} from '../domain/types.js';
import type { CampaignStore, MessageTransition } from '../ports/campaign-store.js';

export interface CampaignStoreFixture {
  store: CampaignStore;
  cleanup?: () => Promise<void>;
}

const T0 = 1_700_000_000_000;

const uid = () => randomUUID().replaceAll('-', '').slice(0, 20);

export function describeCampaignStore(
  name: string,
  factory: () => Promise<CampaignStoreFixture> | CampaignStoreFixture,
): void {
  describe(`CampaignStore conformance: ${name}`, () => {
    let fixture: CampaignStoreFixture;
    const store = () => fixture.store;

    beforeAll(async () => {
      fixture = await factory();
    });
    afterAll(async () => {
      await fixture?.cleanup?.();
    });

    const newCampaign = (overrides: Partial<NewCampaign> = {}): NewCampaign => ({
      id: `c${uid()}`,
      ownerId: `o${uid()}`,
      name: 'Spring sale',
      text: 'Hi {{name}}',
      sender: 'Shop',
      trafficAccountId: 'ta-1',
      status: 'sending',
      total: 0,
      estimatedCost: 0,
      holdId: null,
      holdGeneration: 0,
      batchSize: 2,
      plan: { nextSeq: 0, planned: 0, plannedCost: 0, chunkNo: 0, done: false },
      scheduleVersion: 0,
      scheduledAt: null,
      startedAt: T0,
      finishedAt: null,
      createdAt: T0,
      ...overrides,
    });

    const message = (
      campaign: Pick<CampaignRecord, 'id' | 'ownerId'>,
      seq: number,
      batchNo: number | null,
      overrides: Partial<NewMessage> = {},
    ): NewMessage => ({
      id: `${campaign.id}-${seq}`,
      kind: 'campaign',
      campaignId: campaign.id,
      ownerId: campaign.ownerId,
      seq,
      batchNo,
      contactId: `contact-${seq}`,
      phone: `+3069${String(10_000_000 + seq)}`,
      text: `Hi ${seq}`,
      sender: 'Shop',
      trafficAccountId: 'ta-1',
      encoding: 'GSM-7',
      segments: 1,
      cost: 1 + (seq % 2),
      status: batchNo === null ? 'skipped' : 'queued',
      error: batchNo === null ? 'suppressed' : null,
      isRetryable: false,
      createdAt: T0,
      ...overrides,
    });

    /** A campaign with `count` queued messages cut into batches of `batchSize`, all planned. */
    const planned = async (count: number, batchSize = 2, overrides: Partial<NewCampaign> = {}) => {
      const campaign = await store().createCampaign(newCampaign({ batchSize, ...overrides }));
      const messages = Array.from({ length: count }, (_, seq) =>
        message(campaign, seq, Math.floor(seq / batchSize)),
      );
      const batches: NewBatch[] = [];
      for (let no = 0; no * batchSize < count; no++) {
        const members = messages.filter((m) => m.batchNo === no);
        batches.push({
          batchNo: no,
          size: members.length,
          segments: members.length,
          cost: members.reduce((sum, m) => sum + m.cost, 0),
        });
      }
      const next = {
        nextSeq: count,
        planned: count,
        plannedCost: messages.reduce((s, m) => s + m.cost, 0),
        chunkNo: 1,
        done: true,
      };
      const applied = await store().appendPlanChunk({
        campaignId: campaign.id,
        expected: campaign.plan,
        next,
        ifStatus: ['sending', 'paused'],
        messages,
        batches,
      });
      expect(applied).toBe(true);
      return { campaign, messages, batches };
    };

    const claimBatch = (campaignId: string, batchNo: number, attemptId = `a${uid()}`) =>
      store().claimMessages(
        { campaignId, batchNo },
        { attemptId, leaseUntil: T0 + 60_000, now: T0 + 1 },
      );

    describe('campaigns', () => {
      it('creates, reads back and refuses a duplicate id', async () => {
        const input = newCampaign({ total: 3, estimatedCost: 5 });
        const created = await store().createCampaign(input);
        expect(created).toMatchObject({ ...input, acceptedCost: 0, counts: emptyCounts() });
        expect(await store().getCampaign(input.id)).toEqual(created);
        await expect(store().createCampaign(input)).rejects.toThrow();
        expect(await store().getCampaign(`missing${uid()}`)).toBeNull();
      });

      it('updates only when the status guard holds', async () => {
        const { id } = await store().createCampaign(newCampaign({ status: 'draft' }));
        expect(
          await store().updateCampaign(id, { status: 'paused' }, { ifStatus: ['sending'] }),
        ).toBeNull();
        expect((await store().getCampaign(id))?.status).toBe('draft');
        const updated = await store().updateCampaign(
          id,
          { status: 'sending', holdId: 'h1', startedAt: T0 + 5 },
          { ifStatus: ['draft'] },
        );
        expect(updated).toMatchObject({ status: 'sending', holdId: 'h1', startedAt: T0 + 5 });
        expect(await store().updateCampaign(`missing${uid()}`, { status: 'paused' })).toBeNull();
      });

      it('lets exactly one of many racing guarded updates win', async () => {
        const { id } = await store().createCampaign(newCampaign({ status: 'draft' }));
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store().updateCampaign(
              id,
              { status: 'sending', holdId: `h${i}` },
              { ifStatus: ['draft'] },
            ),
          ),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });

      it("lists an owner's campaigns newest first, paged, filtered by status", async () => {
        const ownerId = `o${uid()}`;
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          const c = await store().createCampaign(
            newCampaign({ ownerId, createdAt: T0 + i, status: i % 2 ? 'draft' : 'sending' }),
          );
          ids.push(c.id);
        }
        await store().createCampaign(newCampaign());
        const first = await store().listCampaigns({ ownerId, limit: 3 });
        expect(first.items.map((c) => c.id)).toEqual([ids[4], ids[3], ids[2]]);
        expect(first.nextCursor).not.toBeNull();
        const second = await store().listCampaigns({ ownerId, limit: 3, cursor: first.nextCursor });
        expect(second.items.map((c) => c.id)).toEqual([ids[1], ids[0]]);
        expect(second.nextCursor).toBeNull();
        const drafts = await store().listCampaigns({ ownerId, statuses: ['draft'], limit: 10 });
        expect(drafts.items.map((c) => c.id)).toEqual([ids[3], ids[1]]);
      });
    });

    describe('recipients', () => {
      it('stores rows by seq, reads them in order from a seq, ignores a repeated seq', async () => {
        const { id } = await store().createCampaign(newCampaign());
        const rows = Array.from({ length: 7 }, (_, seq) => ({
          seq,
          phone: `+30691000000${seq}`,
          phoneError: seq === 3 ? 'invalid' : null,
          contactId: seq === 2 ? null : `k${seq}`,
          vars: { name: `N${seq}` },
        }));
        await store().insertRecipients(id, rows.slice(0, 4));
        await store().insertRecipients(id, rows.slice(3));
        await store().insertRecipients(id, [{ ...rows[0]!, phone: '+306900000000' }]);
        expect(await store().readRecipients(id, 0, 100)).toEqual(rows);
        expect(await store().readRecipients(id, 5, 100)).toEqual(rows.slice(5));
        expect(await store().readRecipients(id, 2, 3)).toEqual(rows.slice(2, 5));
        expect(await store().readRecipients(id, 7, 10)).toEqual([]);
      });
    });

    describe('planning', () => {
      it('appends a chunk atomically and counts its messages', async () => {
        const { campaign, batches } = await planned(5, 2);
        const stored = await store().getCampaign(campaign.id);
        expect(stored?.plan).toEqual({
          nextSeq: 5,
          planned: 5,
          plannedCost: 7,
          chunkNo: 1,
          done: true,
        });
        expect(stored?.counts).toEqual({ ...emptyCounts(), queued: 5 });
        const listed = await store().listBatches(campaign.id, { limit: 10 });
        expect(listed.items.map((b) => [b.batchNo, b.size, b.status, b.counts.queued])).toEqual(
          batches.map((b) => [b.batchNo, b.size, 'planned', b.size]),
        );
        expect(listed.items[0]).toMatchObject({
          releases: 0,
          attempts: 0,
          bulkId: null,
          lastError: null,
        });
      });

      it('refuses a chunk whose expected cursor is stale or whose campaign is not plannable', async () => {
        const { campaign } = await planned(2, 2);
        const stale = await store().appendPlanChunk({
          campaignId: campaign.id,
          expected: campaign.plan,
          next: { ...campaign.plan, nextSeq: 9, chunkNo: 1 },
          ifStatus: ['sending'],
          messages: [message(campaign, 9, 4)],
          batches: [],
        });
        expect(stale).toBe(false);
        expect(await store().getMessage(`${campaign.id}-9`)).toBeNull();

        const cancelled = await store().createCampaign(newCampaign({ status: 'cancelled' }));
        const refused = await store().appendPlanChunk({
          campaignId: cancelled.id,
          expected: cancelled.plan,
          next: { ...cancelled.plan, nextSeq: 1, planned: 1, chunkNo: 1 },
          ifStatus: ['sending', 'paused'],
          messages: [message(cancelled, 0, 0)],
          batches: [{ batchNo: 0, size: 1, segments: 1, cost: 1 }],
        });
        expect(refused).toBe(false);
        expect((await store().getCampaign(cancelled.id))?.counts.queued).toBe(0);
      });

      it('applies exactly one of two racing chunks from the same cursor', async () => {
        const campaign = await store().createCampaign(newCampaign());
        const chunk = (seq: number) =>
          store().appendPlanChunk({
            campaignId: campaign.id,
            expected: campaign.plan,
            next: { ...campaign.plan, nextSeq: 1, planned: 1, plannedCost: 1, chunkNo: 1 },
            ifStatus: ['sending'],
            messages: [message(campaign, seq, 0, { id: `${campaign.id}-x${seq}` })],
            batches: [{ batchNo: 0, size: 1, segments: 1, cost: 1 }],
          });
        const results = await Promise.allSettled([chunk(0), chunk(1), chunk(2)]);
        const wins = results.filter((r) => r.status === 'fulfilled' && r.value === true);
        expect(wins).toHaveLength(1);
        expect((await store().getCampaign(campaign.id))?.counts.queued).toBe(1);
      });

      it('reports phones already taken by non-skipped messages', async () => {
        const campaign = await store().createCampaign(newCampaign());
        const kept = message(campaign, 0, 0);
        const skipped = message(campaign, 1, null, { phone: '+306911111111' });
        await store().appendPlanChunk({
          campaignId: campaign.id,
          expected: campaign.plan,
          next: { nextSeq: 2, planned: 1, plannedCost: kept.cost, chunkNo: 1, done: false },
          ifStatus: ['sending'],
          messages: [kept, skipped],
          batches: [],
        });
        const taken = await store().findTakenPhones(campaign.id, [
          kept.phone,
          skipped.phone,
          '+306922222222',
        ]);
        expect(taken).toEqual([kept.phone]);
        expect((await store().getCampaign(campaign.id))?.counts).toMatchObject({
          queued: 1,
          skipped: 1,
        });
      });
    });

    describe('batches', () => {
      it('releases the oldest planned batches within the window', async () => {
        const { campaign } = await planned(10, 2);
        const first = await store().releaseBatches(campaign.id, 3);
        expect(first.map((b) => [b.batchNo, b.status, b.releases])).toEqual([
          [0, 'queued', 1],
          [1, 'queued', 1],
          [2, 'queued', 1],
        ]);
        expect(await store().releaseBatches(campaign.id, 3)).toEqual([]);
        await store().updateBatch(campaign.id, 0, { status: 'completed' });
        await store().updateBatch(campaign.id, 1, { status: 'sending' });
        expect((await store().releaseBatches(campaign.id, 3)).map((b) => b.batchNo)).toEqual([3]);
      });

      it('never exceeds the window when releases race', async () => {
        const { campaign } = await planned(40, 2);
        const released = (
          await Promise.all(Array.from({ length: 8 }, () => store().releaseBatches(campaign.id, 5)))
        ).flat();
        expect(released).toHaveLength(5);
        expect(new Set(released.map((b) => b.batchNo)).size).toBe(5);
      });

      it('updates a batch under a status guard', async () => {
        const { campaign } = await planned(2, 2);
        expect(
          await store().updateBatch(
            campaign.id,
            0,
            { status: 'sending' },
            { ifStatus: ['queued'] },
          ),
        ).toBeNull();
        const updated = await store().updateBatch(
          campaign.id,
          0,
          {
            status: 'completed',
            bulkId: 'bulk-1',
            lastError: 'x',
            attempts: 2,
            dispatchedAttemptId: 'a-2',
          },
          { ifStatus: ['planned'] },
        );
        expect(updated).toMatchObject({
          status: 'completed',
          bulkId: 'bulk-1',
          lastError: 'x',
          attempts: 2,
          dispatchedAttemptId: 'a-2',
        });
        expect(await store().getBatch(campaign.id, 0)).toEqual(updated);
        expect(await store().getBatch(campaign.id, 99)).toBeNull();
      });
    });

    describe('claims', () => {
      it("moves a batch's queued messages to sending with the attempt and lease", async () => {
        const { campaign } = await planned(4, 2);
        const claimed = await claimBatch(campaign.id, 1, 'attempt-1');
        expect(claimed.map((m) => m.id).sort()).toEqual([`${campaign.id}-2`, `${campaign.id}-3`]);
        expect(claimed[0]).toMatchObject({
          phone: expect.stringMatching(/^\+/),
          text: expect.any(String),
          sender: 'Shop',
        });
        const stored = await store().getMessage(`${campaign.id}-2`);
        expect(stored).toMatchObject({
          status: 'sending',
          attemptId: 'attempt-1',
          leaseExpiresAt: T0 + 60_000,
        });
        expect(await claimBatch(campaign.id, 1)).toEqual([]);
        const c = await store().getCampaign(campaign.id);
        expect(c?.counts).toMatchObject({ queued: 2, sending: 2 });
        expect(await store().getBatch(campaign.id, 1)).toMatchObject({
          status: 'sending',
          attempts: 1,
          attemptId: 'attempt-1',
          dispatchedAttemptId: null,
          updatedAt: T0 + 1,
          counts: { queued: 0, sending: 2 },
        });
        expect(await store().getBatch(campaign.id, 0)).toMatchObject({
          status: 'planned',
          attempts: 0,
        });
      });

      it('never hands one message to two racing claimers', async () => {
        const { campaign } = await planned(300, 300);
        const claims = await Promise.all(
          Array.from({ length: 6 }, () => claimBatch(campaign.id, 0)),
        );
        const ids = claims.flat().map((m) => m.id);
        expect(ids).toHaveLength(300);
        expect(new Set(ids).size).toBe(300);
      });

      it('claims by message ids, queued ones only', async () => {
        const { campaign } = await planned(3, 3);
        await claimBatch(campaign.id, 0);
        const again = await store().claimMessages(
          { messageIds: [`${campaign.id}-0`, `missing${uid()}`] },
          { attemptId: 'x', leaseUntil: T0, now: T0 },
        );
        expect(again).toEqual([]);
        const other = await planned(2, 2);
        const one = await store().claimMessages(
          { messageIds: [`${other.campaign.id}-1`] },
          { attemptId: 'y', leaseUntil: T0, now: T0 },
        );
        expect(one.map((m) => m.id)).toEqual([`${other.campaign.id}-1`]);
      });
    });

    describe('transitions', () => {
      it('applies guarded transitions, records provider ids and counts exactly', async () => {
        const { campaign, messages } = await planned(4, 4);
        await claimBatch(campaign.id, 0, 'att');
        const [m0, m1, m2, m3] = messages.map((m) => m.id) as [string, string, string, string];
        const applied = await store().applyTransitions(
          [
            {
              id: m0,
              from: 'sending',
              attemptId: 'att',
              to: 'sent',
              set: { providerMessageId: `p${m0}`, bulkId: 'B', accept: true },
            },
            {
              id: m1,
              from: 'sending',
              attemptId: 'att',
              to: 'failed',
              set: { error: 'Invalid destination', isRetryable: false, bulkId: 'B' },
            },
            { id: m2, from: 'sending', attemptId: 'other', to: 'sent', set: { accept: true } },
            { id: m3, from: 'queued', to: 'cancelled' },
            { id: `missing${uid()}`, from: 'sending', to: 'sent' },
          ],
          { now: T0 + 10 },
        );
        expect(applied.map((t) => [t.id, t.from, t.to, t.acceptedNow])).toEqual([
          [m0, 'sending', 'sent', true],
          [m1, 'sending', 'failed', false],
        ]);
        expect(applied[0]).toMatchObject({
          campaignId: campaign.id,
          batchNo: 0,
          ownerId: campaign.ownerId,
          cost: messages[0]!.cost,
          kind: 'campaign',
        });
        const sent = await store().getMessage(m0);
        expect(sent).toMatchObject({
          status: 'sent',
          providerMessageId: `p${m0}`,
          bulkId: 'B',
          isAccepted: true,
          sentAt: T0 + 10,
          leaseExpiresAt: null,
        });
        expect(await store().getMessage(m1)).toMatchObject({
          status: 'failed',
          error: 'Invalid destination',
          failedAt: T0 + 10,
        });
        expect(
          (await store().findMessages({ providerMessageIds: [`p${m0}`] })).map((m) => m.id),
        ).toEqual([m0]);
        const c = await store().getCampaign(campaign.id);
        expect(c?.counts).toEqual({ ...emptyCounts(), sending: 2, sent: 1, failed: 1 });
        expect(c?.acceptedCost).toBe(messages[0]!.cost);
        const b = await store().getBatch(campaign.id, 0);
        expect(b?.counts).toEqual({ ...emptyCounts(), sending: 2, sent: 1, failed: 1 });
        expect(b?.updatedAt).toBe(T0 + 10);
      });

      it('accepts a message once, applies one id twice in order, and requeues with retryCount + 1', async () => {
        const { campaign, messages } = await planned(2, 2);
        await claimBatch(campaign.id, 0, 'att');
        const [m0, m1] = messages.map((m) => m.id) as [string, string];
        const applied = await store().applyTransitions(
          [
            { id: m0, from: 'sending', to: 'unknown', set: { error: 'timeout' } },
            { id: m0, from: ['sending', 'unknown'], to: 'delivered', set: { accept: true } },
            {
              id: m1,
              from: 'sending',
              attemptId: 'att',
              to: 'queued',
              set: { incrementRetry: true, error: '503' },
            },
          ],
          { now: T0 + 20 },
        );
        expect(applied.map((t) => [t.from, t.to])).toEqual([
          ['sending', 'unknown'],
          ['unknown', 'delivered'],
          ['sending', 'queued'],
        ]);
        const again = await store().applyTransitions(
          [{ id: m0, from: 'delivered', to: 'failed', set: { accept: true } }],
          { now: T0 + 30 },
        );
        expect(again[0]?.acceptedNow).toBe(false);
        const requeued = await store().getMessage(m1);
        expect(requeued).toMatchObject({
          status: 'queued',
          retryCount: 1,
          attemptId: null,
          error: '503',
        });
        const c = await store().getCampaign(campaign.id);
        expect(c?.acceptedCost).toBe(messages[0]!.cost);
        expect(c?.counts).toEqual({ ...emptyCounts(), queued: 1, failed: 1 });
      });

      it('applies each of many racing identical transitions once', async () => {
        const { campaign, messages } = await planned(50, 50);
        await claimBatch(campaign.id, 0, 'att');
        const transitions: MessageTransition[] = messages.map((m) => ({
          id: m.id,
          from: 'sending',
          attemptId: 'att',
          to: 'sent',
          set: { providerMessageId: `p-${m.id}`, accept: true },
        }));
        const results = await Promise.all(
          Array.from({ length: 5 }, () => store().applyTransitions(transitions, { now: T0 + 1 })),
        );
        expect(results.flat()).toHaveLength(50);
        expect(results.flat().filter((t) => t.acceptedNow)).toHaveLength(50);
        const c = await store().getCampaign(campaign.id);
        expect(c?.counts.sent).toBe(50);
        expect(c?.acceptedCost).toBe(messages.reduce((s, m) => s + m.cost, 0));
      });
    });

    describe('bulk changes', () => {
      it('cancels queued messages and unsent batches, leaving in-flight ones', async () => {
        const { campaign, messages } = await planned(6, 2);
        await store().releaseBatches(campaign.id, 2);
        await claimBatch(campaign.id, 0);
        const change = await store().cancelQueued(campaign.id, { now: T0 + 5 });
        expect(change).toEqual({
          count: 4,
          cost: messages.slice(2).reduce((s, m) => s + m.cost, 0),
        });
        const batches = (await store().listBatches(campaign.id, { limit: 10 })).items;
        expect(batches.map((b) => b.status)).toEqual(['sending', 'cancelled', 'cancelled']);
        expect((await store().getCampaign(campaign.id))?.counts).toEqual({
          ...emptyCounts(),
          sending: 2,
          cancelled: 4,
        });
        expect(await store().cancelQueued(campaign.id, { now: T0 + 6 })).toEqual({
          count: 0,
          cost: 0,
        });
      });

      it('requeues retryable failures and puts their batches back to planned', async () => {
        const { campaign, messages } = await planned(4, 2);
        for (const no of [0, 1]) await claimBatch(campaign.id, no, `att${no}`);
        await store().applyTransitions(
          messages.map((m, i) => ({
            id: m.id,
            from: 'sending' as MessageStatus,
            to: 'failed' as MessageStatus,
            set: { error: i < 3 ? 'gave up: 503' : 'Invalid destination', isRetryable: i < 3 },
          })),
          { now: T0 + 1 },
        );
        for (const no of [0, 1]) await store().updateBatch(campaign.id, no, { status: 'failed' });
        const change = await store().requeueFailed(campaign.id, { now: T0 + 2 });
        expect(change).toEqual({
          count: 3,
          cost: messages.slice(0, 3).reduce((s, m) => s + m.cost, 0),
        });
        expect(await store().getMessage(messages[0]!.id)).toMatchObject({
          status: 'queued',
          error: null,
          isRetryable: false,
        });
        const batches = (await store().listBatches(campaign.id, { limit: 10 })).items;
        expect(batches.map((b) => b.status)).toEqual(['planned', 'planned']);
        expect((await store().getCampaign(campaign.id))?.counts).toEqual({
          ...emptyCounts(),
          queued: 3,
          failed: 1,
        });
      });
    });

    describe('reading messages', () => {
      it("pages a campaign's messages in seq order, by status and by batch", async () => {
        const { campaign } = await planned(7, 3);
        const first = await store().listMessages(campaign.id, { limit: 4 });
        expect(first.items.map((m) => m.seq)).toEqual([0, 1, 2, 3]);
        const rest = await store().listMessages(campaign.id, {
          limit: 4,
          cursor: first.nextCursor,
        });
        expect(rest.items.map((m) => m.seq)).toEqual([4, 5, 6]);
        expect(rest.nextCursor).toBeNull();
        const batch = await store().listMessages(campaign.id, { batchNo: 1, limit: 10 });
        expect(batch.items.map((m) => m.seq)).toEqual([3, 4, 5]);
        await claimBatch(campaign.id, 0);
        const sending = await store().listMessages(campaign.id, { status: 'sending', limit: 10 });
        expect(sending.items.map((m) => m.seq)).toEqual([0, 1, 2]);
      });

      it('scans for maintenance: expired leases, old statuses, lookups, kind, bulk', async () => {
        const { campaign, messages } = await planned(4, 4);
        await store().claimMessages(
          { campaignId: campaign.id, batchNo: 0 },
          { attemptId: 'a', leaseUntil: T0 + 100, now: T0 },
        );
        const expired = await store().scanMessages({
          status: 'sending',
          campaignId: campaign.id,
          leaseExpiredBefore: T0 + 101,
          limit: 10,
        });
        expect(expired).toHaveLength(4);
        expect(
          await store().scanMessages({
            status: 'sending',
            campaignId: campaign.id,
            leaseExpiredBefore: T0 + 100,
            limit: 10,
          }),
        ).toEqual([]);
        const ids = messages.map((m) => m.id);
        await store().applyTransitions(
          ids.map((id, i) => ({
            id,
            from: 'sending',
            to: 'sent',
            set: {
              providerMessageId: `p-${id}`,
              bulkId: i < 2 ? 'bulk-a' : 'bulk-b',
              accept: true,
            },
          })),
          { now: T0 + 200 },
        );
        expect(
          await store().scanMessages({
            status: 'sent',
            campaignId: campaign.id,
            updatedBefore: T0 + 200,
            limit: 10,
          }),
        ).toEqual([]);
        expect(
          await store().scanMessages({
            status: 'sent',
            campaignId: campaign.id,
            updatedBefore: T0 + 201,
            limit: 3,
          }),
        ).toHaveLength(3);
        expect(
          (await store().scanMessages({ status: 'sent', bulkId: 'bulk-a', limit: 10 }))
            .map((m) => m.id)
            .sort(),
        ).toEqual(ids.slice(0, 2).sort());
        await store().markLookedUp(ids.slice(0, 2), { now: T0 + 300 });
        await store().markLookedUp(ids.slice(0, 1), { now: T0 + 400 });
        expect(await store().getMessage(ids[0]!)).toMatchObject({
          lookupCount: 2,
          lastLookupAt: T0 + 400,
        });
        const due = await store().scanMessages({
          status: 'sent',
          campaignId: campaign.id,
          lookedUpBefore: T0 + 350,
          maxLookups: 2,
          limit: 10,
        });
        expect(due.map((m) => m.id).sort()).toEqual(ids.slice(1).sort());
        expect(
          await store().scanMessages({
            status: 'sent',
            campaignId: campaign.id,
            kind: 'test',
            limit: 10,
          }),
        ).toEqual([]);
      });
    });

    describe('test messages', () => {
      it('stores campaign-less messages that touch no campaign counters', async () => {
        const ownerId = `o${uid()}`;
        const id = `t${uid()}`;
        await store().insertMessages([
          {
            ...message({ id: 'x', ownerId }, 0, null),
            id,
            kind: 'test',
            campaignId: null,
            status: 'queued',
            error: null,
          },
        ]);
        const [claimed] = await store().claimMessages(
          { messageIds: [id] },
          { attemptId: 'a', leaseUntil: T0, now: T0 },
        );
        expect(claimed?.campaignId).toBeNull();
        const [applied] = await store().applyTransitions(
          [
            {
              id,
              from: 'sending',
              to: 'sent',
              set: { providerMessageId: `p-${id}`, accept: true },
            },
          ],
          { now: T0 },
        );
        expect(applied).toMatchObject({ kind: 'test', campaignId: null, acceptedNow: true });
        expect(await store().getMessage(id)).toMatchObject({
          status: 'sent',
          kind: 'test',
          ownerId,
        });
        const queued = await store().scanMessages({ status: 'sent', kind: 'test', limit: 1000 });
        expect(queued.map((m) => m.id)).toContain(id);
      });
    });

    describe('delivery events', () => {
      const event = (overrides: Partial<StoredDeliveryEvent> = {}): StoredDeliveryEvent => ({
        key: `k${uid()}`,
        providerMessageId: `p${uid()}`,
        reference: `r${uid()}`,
        state: 'delivered',
        providerStatus: 'Delivered',
        reason: null,
        occurredAt: T0,
        source: 'webhook',
        raw: { any: 'thing' },
        receivedAt: T0,
        processedAt: null,
        ...overrides,
      });

      it('stores events once by key and lists the pending ones by handle or age', async () => {
        const a = event();
        const b = event({ receivedAt: T0 + 1000 });
        const first = await store().recordDeliveryEvents([a, b, { ...a }]);
        expect(first.map((e) => e.key)).toEqual([a.key, b.key]);
        expect(await store().recordDeliveryEvents([a])).toEqual([]);
        const byRef = await store().listPendingDeliveryEvents({
          references: [a.reference!],
          limit: 10,
        });
        expect(byRef).toEqual([a]);
        const byProvider = await store().listPendingDeliveryEvents({
          providerMessageIds: [b.providerMessageId!],
          limit: 10,
        });
        expect(byProvider.map((e) => e.key)).toEqual([b.key]);
        const old = await store().listPendingDeliveryEvents({
          receivedBefore: T0 + 1,
          limit: 1000,
        });
        expect(old.map((e) => e.key)).toContain(a.key);
        expect(old.map((e) => e.key)).not.toContain(b.key);
        await store().markDeliveryEventsProcessed([a.key], { now: T0 + 5 });
        expect(
          await store().listPendingDeliveryEvents({ references: [a.reference!], limit: 10 }),
        ).toEqual([]);
      });
    });
  });
}
