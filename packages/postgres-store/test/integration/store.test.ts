// The PostgreSQL store against a real database, where the conformance kit cannot reach: several
// pools (processes) racing on one campaign, counters checked against a recount, the batch-counter
// lookups that replace status indexes (including the batch the planner has not closed), provider
// and bulk id side tables, and the HOT updates the hot path depends on.

import {
  type CampaignRecord,
  type CampaignStore,
  isConflictError,
  isValidationError,
  MESSAGE_STATUSES,
  MESSAGE_TRANSITIONS,
  type MessageStatus,
  type MessageTransition,
  type StoredDeliveryEvent,
} from '@smsbatch/core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/index.js';
import { newCampaign, newMessage, planChunk, T0 } from '../fixtures.js';
import { createTestPool, describePg, useTestSchema } from '../helpers.js';

let seq = 0;
const uid = (prefix: string) => `${prefix}${++seq}`;

/** A small deterministic PRNG, so a failing mix can be replayed. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describePg('postgres store', () => {
  const db = useTestSchema({ poolSize: 8 });
  const otherPool: { pool?: pg.Pool } = {};
  let store: CampaignStore;
  let other: CampaignStore;
  const query = async <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
    (await db.pool.query<R>(text.replaceAll('$schema', `"${db.schema}"`), values)).rows;

  beforeAll(() => {
    store = createPostgresStore(db.pool, { schema: db.schema });
    otherPool.pool = createTestPool(8);
    other = createPostgresStore(otherPool.pool, { schema: db.schema });
  });
  afterAll(async () => {
    await otherPool.pool?.end();
  });
  const stores = () => [store, other];

  /** A campaign with `count` queued messages planned in chunks of `chunk`. */
  const planned = async (
    count: number,
    batchSize: number,
    options: { chunk?: number; done?: boolean } = {},
  ): Promise<CampaignRecord> => {
    const campaign = await store.createCampaign(newCampaign(uid('c'), { batchSize }));
    let cursor = campaign.plan;
    const chunkSize = options.chunk ?? count;
    for (let start = 0; start < count; start += chunkSize) {
      const size = Math.min(chunkSize, count - start);
      const done = (options.done ?? true) && start + size >= count;
      const chunk = planChunk(campaign.id, cursor, size, batchSize, { done });
      expect(
        await store.appendPlanChunk({
          campaignId: campaign.id,
          expected: cursor,
          ifStatus: ['sending'],
          ...chunk,
        }),
      ).toBe(true);
      cursor = chunk.next;
    }
    return (await store.getCampaign(campaign.id))!;
  };

  const claimAll = async (campaign: CampaignRecord, batches: number, attemptId = 'att') => {
    for (let batchNo = 0; batchNo < batches; batchNo++) {
      await store.claimMessages(
        { campaignId: campaign.id, batchNo },
        { attemptId, leaseUntil: T0 + 1000, now: T0 + 1 },
      );
    }
  };

  /** Counts recounted from the rows, to compare with the incrementally kept ones. */
  const recount = async (campaignId: string) => {
    const rows = await query<{ batch_no: number | null; status: MessageStatus; n: number }>(
      `SELECT batch_no, status, count(*)::int AS n FROM $schema.messages
       WHERE campaign_id = $1 GROUP BY batch_no, status`,
      [campaignId],
    );
    const campaign = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0]));
    const batches = new Map<number, Record<string, number>>();
    for (const row of rows) {
      campaign[row.status]! += row.n;
      if (row.batch_no === null) continue;
      const counts =
        batches.get(row.batch_no) ?? Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0]));
      counts[row.status]! += row.n;
      batches.set(row.batch_no, counts);
    }
    const [accepted] = await query<{ cost: number }>(
      `SELECT coalesce(sum(cost), 0)::int AS cost FROM $schema.messages
       WHERE campaign_id = $1 AND is_accepted`,
      [campaignId],
    );
    return { campaign, batches, acceptedCost: accepted!.cost };
  };

  describe('planning', () => {
    it('applies exactly one of many chunks racing from several processes, and nothing of the others', async () => {
      const campaign = await store.createCampaign(newCampaign(uid('c'), { batchSize: 10 }));
      const attempt = (racer: number) => {
        const chunk = planChunk(campaign.id, campaign.plan, 25, 10);
        return stores()[racer % 2]!.appendPlanChunk({
          campaignId: campaign.id,
          expected: campaign.plan,
          ifStatus: ['sending'],
          ...chunk,
          messages: chunk.messages.map((m) => ({
            ...m,
            id: `${m.id}-r${racer}`,
            phone: `${m.phone}${racer}`,
          })),
        });
      };
      const results = await Promise.all(Array.from({ length: 8 }, (_, racer) => attempt(racer)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const [stored] = await query<{ n: number }>(
        'SELECT count(*)::int AS n FROM $schema.messages WHERE campaign_id = $1',
        [campaign.id],
      );
      expect(stored!.n).toBe(25);
      const after = await store.getCampaign(campaign.id);
      expect(after?.plan).toMatchObject({ nextSeq: 25, planned: 25, chunkNo: 1 });
      expect(after?.counts.queued).toBe(25);
      expect((await store.listBatches(campaign.id, { limit: 10 })).items).toHaveLength(2);
    });

    it('refuses a chunk that reuses a live phone, and writes none of it', async () => {
      const campaign = await planned(5, 10, { done: false });
      const chunk = planChunk(campaign.id, campaign.plan, 3, 10);
      const error = await store
        .appendPlanChunk({
          campaignId: campaign.id,
          expected: campaign.plan,
          ifStatus: ['sending'],
          ...chunk,
          messages: chunk.messages.map((m, i) =>
            i === 2 ? { ...m, phone: newMessage(campaign.id, 0).phone } : m,
          ),
        })
        .catch((e: unknown) => e);
      expect(isConflictError(error)).toBe(true);
      expect((await store.getCampaign(campaign.id))?.plan).toEqual(campaign.plan);
      expect(await store.getMessage(chunk.messages[0]!.id)).toBeNull();
    });

    it('frees the phone of a message that becomes skipped', async () => {
      const campaign = await planned(3, 10, { done: false });
      const [first] = (await store.listMessages(campaign.id, { limit: 1 })).items;
      expect(await store.findTakenPhones(campaign.id, [first!.phone])).toEqual([first!.phone]);
      await store.applyTransitions(
        [{ id: first!.id, from: 'queued', to: 'skipped', set: { error: 'suppressed' } }],
        { now: T0 + 1 },
      );
      expect(await store.findTakenPhones(campaign.id, [first!.phone])).toEqual([]);
      const chunk = planChunk(campaign.id, campaign.plan, 1, 10);
      const reuse = { ...chunk.messages[0]!, phone: first!.phone };
      expect(
        await store.appendPlanChunk({
          campaignId: campaign.id,
          expected: campaign.plan,
          ifStatus: ['sending'],
          ...chunk,
          messages: [reuse],
        }),
      ).toBe(true);
    });
  });

  describe('claims', () => {
    it('never hands a message to two claimers across processes, by batch or by ids', async () => {
      const campaign = await planned(1000, 1000);
      const ids = Array.from({ length: 1000 }, (_, i) => `${campaign.id}-${i}`);
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, i) => {
          const target =
            i % 3 === 0
              ? { messageIds: ids.slice((i * 97) % 600, ((i * 97) % 600) + 400) }
              : { campaignId: campaign.id, batchNo: 0 };
          return stores()[i % 2]!.claimMessages(target, {
            attemptId: `a${i}`,
            leaseUntil: T0 + 1000,
            now: T0 + 1,
          });
        }),
      );
      const claimed = claims.flat().map((m) => m.id);
      expect(claimed).toHaveLength(1000);
      expect(new Set(claimed).size).toBe(1000);
      const counts = await recount(campaign.id);
      expect((await store.getCampaign(campaign.id))?.counts).toEqual(counts.campaign);
      expect((await store.getBatch(campaign.id, 0))?.counts).toEqual(counts.batches.get(0));
    });
  });

  describe('transitions', () => {
    it('keeps campaign and batch counters exact under a concurrent mix of transitions', async () => {
      const campaign = await planned(2000, 500);
      await claimAll(campaign, 4);
      const next = random(42);
      const ids = Array.from({ length: 2000 }, (_, i) => `${campaign.id}-${i}`);
      const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
      for (let round = 0; round < 6; round++) {
        const calls = Array.from({ length: 8 }, () =>
          Array.from({ length: 150 }, (): MessageTransition => {
            const from = pick(MESSAGE_STATUSES.filter((s) => MESSAGE_TRANSITIONS[s].length > 0));
            return {
              id: pick(ids),
              from: next() < 0.5 ? from : [from, pick(MESSAGE_STATUSES)],
              to: pick(MESSAGE_TRANSITIONS[from]),
              set: {
                accept: next() < 0.5,
                providerMessageId: `p${Math.floor(next() * 1e6)}`,
                incrementRetry: next() < 0.2,
              },
            };
          }),
        );
        await Promise.all(
          calls.map((transitions, i) =>
            stores()[i % 2]!.applyTransitions(transitions, { now: T0 + 10 + round }),
          ),
        );
      }
      const truth = await recount(campaign.id);
      const kept = await store.getCampaign(campaign.id);
      expect(kept?.counts).toEqual(truth.campaign);
      expect(kept?.acceptedCost).toBe(truth.acceptedCost);
      for (let batchNo = 0; batchNo < 4; batchNo++) {
        expect((await store.getBatch(campaign.id, batchNo))?.counts).toEqual(
          truth.batches.get(batchNo),
        );
      }
    });

    it('applies every occurrence of an id in one call, in order', async () => {
      const campaign = await planned(2, 2);
      await claimAll(campaign, 1);
      const id = `${campaign.id}-0`;
      const applied = await store.applyTransitions(
        [
          { id, from: 'sending', to: 'unknown' },
          { id: `${campaign.id}-1`, from: 'sending', to: 'sent', set: { accept: true } },
          { id, from: 'unknown', to: 'sent', set: { accept: true } },
          { id, from: 'sent', to: 'delivered', set: { accept: true } },
          { id, from: 'sent', to: 'failed' },
        ],
        { now: T0 + 5 },
      );
      expect(applied.map((t) => [t.id.endsWith('-0'), t.from, t.to, t.acceptedNow])).toEqual([
        [true, 'sending', 'unknown', false],
        [false, 'sending', 'sent', true],
        [true, 'unknown', 'sent', true],
        [true, 'sent', 'delivered', false],
      ]);
      expect(await store.getMessage(id)).toMatchObject({
        status: 'delivered',
        sentAt: T0 + 5,
        deliveredAt: T0 + 5,
        isAccepted: true,
      });
    });

    it('finds messages by their current provider id only', async () => {
      const campaign = await planned(1, 1);
      await claimAll(campaign, 1);
      const id = `${campaign.id}-0`;
      await store.applyTransitions(
        [{ id, from: 'sending', to: 'unknown', set: { providerMessageId: `${id}-old` } }],
        { now: T0 + 2 },
      );
      await store.applyTransitions(
        [{ id, from: 'unknown', to: 'sent', set: { providerMessageId: `${id}-new` } }],
        { now: T0 + 3 },
      );
      expect(await store.findMessages({ providerMessageIds: [`${id}-old`] })).toEqual([]);
      const found = await store.findMessages({ ids: [id], providerMessageIds: [`${id}-new`] });
      expect(found.map((m) => m.id)).toEqual([id]);
    });

    it('writes the hot path (claim, result, delivery report) as HOT updates', async () => {
      const single = createTestPool(1);
      try {
        const hot = createPostgresStore(single, { schema: db.schema });
        const stats = async () => {
          await single.query('SELECT pg_stat_force_next_flush()');
          const [row] = (
            await single.query<{ upd: string; hot: string }>(
              `SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables
               WHERE schemaname = $1 AND relname = 'messages'`,
              [db.schema],
            )
          ).rows;
          return { updates: Number(row!.upd), hot: Number(row!.hot) };
        };
        const campaign = await planned(1000, 500);
        const before = await stats();
        for (const batchNo of [0, 1]) {
          const claimed = await hot.claimMessages(
            { campaignId: campaign.id, batchNo },
            { attemptId: 'a', leaseUntil: T0 + 100, now: T0 + 1 },
          );
          await hot.applyTransitions(
            claimed.map((m) => ({
              id: m.id,
              from: 'sending',
              attemptId: 'a',
              to: 'sent',
              set: { providerMessageId: `p-${m.id}`, bulkId: `b${batchNo}`, accept: true },
            })),
            { now: T0 + 2 },
          );
          await hot.applyTransitions(
            claimed.map((m) => ({ id: m.id, from: ['sent', 'unknown'], to: 'delivered' })),
            { now: T0 + 3 },
          );
        }
        const after = await stats();
        expect(after.updates - before.updates).toBe(3000);
        // An index on a column these writes change would make none of them HOT; a page that
        // happens to be full makes a few non-HOT, so the bound leaves room for that.
        expect(after.hot - before.hot).toBeGreaterThan(3000 * 0.8);
      } finally {
        await single.end();
      }
    });
  });

  describe('bulk changes', () => {
    it('cancels the queued messages of the batch the planner has not closed too', async () => {
      const campaign = await planned(25, 10, { chunk: 25, done: false });
      expect((await store.listBatches(campaign.id, { limit: 10 })).items).toHaveLength(2);
      await store.releaseBatches(campaign.id, 1);
      await claimAll(campaign, 1);
      expect(await store.cancelQueued(campaign.id, { now: T0 + 9 })).toEqual({
        count: 15,
        cost: 15,
      });
      const truth = await recount(campaign.id);
      expect(truth.campaign).toMatchObject({ sending: 10, cancelled: 15, queued: 0 });
      expect((await store.getCampaign(campaign.id))?.counts).toEqual(truth.campaign);
      const batches = (await store.listBatches(campaign.id, { limit: 10 })).items;
      expect(batches.map((b) => b.status)).toEqual(['sending', 'cancelled']);
    });

    it('requeues retryable failures only and recounts their batches', async () => {
      const campaign = await planned(20, 10);
      await claimAll(campaign, 2);
      await store.applyTransitions(
        Array.from({ length: 20 }, (_, i) => ({
          id: `${campaign.id}-${i}`,
          from: 'sending' as const,
          to: 'failed' as const,
          set: { error: 'x', isRetryable: i % 4 !== 0 },
        })),
        { now: T0 + 5 },
      );
      expect(await store.requeueFailed(campaign.id, { now: T0 + 6 })).toEqual({
        count: 15,
        cost: 15,
      });
      const truth = await recount(campaign.id);
      expect(truth.campaign).toMatchObject({ queued: 15, failed: 5 });
      expect((await store.getCampaign(campaign.id))?.counts).toEqual(truth.campaign);
      expect((await store.getBatch(campaign.id, 1))?.counts).toEqual(truth.batches.get(1));
    });
  });

  describe('reading by status', () => {
    /** 3 closed batches and an open one, in every status a campaign message can take. */
    const mixed = async () => {
      const campaign = await planned(35, 10, { chunk: 35, done: false });
      await claimAll(campaign, 2);
      const statusOf = (i: number): MessageStatus[] => {
        if (i < 4) return ['sent'];
        if (i < 7) return ['sent', 'delivered'];
        if (i < 9) return ['failed'];
        if (i < 11) return ['unknown'];
        if (i < 13) return ['skipped'];
        return [];
      };
      for (let step = 0; step < 2; step++) {
        const transitions: MessageTransition[] = [];
        for (let i = 0; i < 20; i++) {
          const path = statusOf(i);
          if (path[step])
            transitions.push({
              id: `${campaign.id}-${i}`,
              from: ['sending', 'sent'],
              to: path[step]!,
            });
        }
        await store.applyTransitions(transitions, { now: T0 + 10 + step });
      }
      await store.applyTransitions([{ id: `${campaign.id}-21`, from: 'queued', to: 'cancelled' }], {
        now: T0 + 20,
      });
      return campaign;
    };

    it('lists every status page by page, across batches and the open batch', async () => {
      const campaign = await mixed();
      for (const status of MESSAGE_STATUSES) {
        const truth = await query<{ seq: number }>(
          'SELECT seq FROM $schema.messages WHERE campaign_id = $1 AND status = $2 ORDER BY seq',
          [campaign.id, status],
        );
        const seen: number[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.listMessages(campaign.id, { status, limit: 3, cursor });
          seen.push(...page.items.map((m) => m.seq));
          cursor = page.nextCursor;
        } while (cursor !== null);
        expect(seen, status).toEqual(truth.map((row) => row.seq));
      }
    });

    it('scans every status, campaign and test messages alike, oldest first', async () => {
      const campaign = await mixed();
      await store.insertMessages(
        MESSAGE_STATUSES.map((status, i) =>
          newMessage(null, 0, { id: uid('t'), status, createdAt: T0 + 30 + i }),
        ),
      );
      for (const status of MESSAGE_STATUSES) {
        const truth = await query<{ id: string }>(
          'SELECT id FROM $schema.messages WHERE status = $1 ORDER BY updated_at, id',
          [status],
        );
        const scanned = await store.scanMessages({ status, limit: 100_000 });
        expect(
          scanned.map((m) => m.id),
          status,
        ).toEqual(truth.map((row) => row.id));
        const ofCampaign = await store.scanMessages({
          status,
          campaignId: campaign.id,
          limit: 100,
        });
        expect(ofCampaign.every((m) => m.campaignId === campaign.id && m.status === status)).toBe(
          true,
        );
        const tests = await store.scanMessages({ status, kind: 'test', limit: 100_000 });
        expect(tests.map((m) => m.kind)).toEqual(
          truth.filter((row) => row.id.startsWith('t')).map(() => 'test'),
        );
      }
    });

    it("finds a bulk's messages, whichever attempt of the batch it was", async () => {
      const campaign = await planned(10, 10);
      const first = await store.claimMessages(
        { campaignId: campaign.id, batchNo: 0 },
        { attemptId: 'a1', leaseUntil: T0 + 100, now: T0 + 1 },
      );
      await store.applyTransitions(
        first.map((m, i) =>
          i < 4
            ? { id: m.id, from: 'sending', to: 'sent', set: { bulkId: 'bulk-a', accept: true } }
            : { id: m.id, from: 'sending', to: 'queued', set: { incrementRetry: true } },
        ),
        { now: T0 + 2 },
      );
      const second = await store.claimMessages(
        { campaignId: campaign.id, batchNo: 0 },
        { attemptId: 'a2', leaseUntil: T0 + 100, now: T0 + 3 },
      );
      expect(second).toHaveLength(6);
      await store.applyTransitions(
        second.map((m) => ({
          id: m.id,
          from: 'sending',
          to: 'sent',
          set: { bulkId: 'bulk-b', accept: true },
        })),
        { now: T0 + 4 },
      );
      const ofA = await store.scanMessages({ status: 'sent', bulkId: 'bulk-a', limit: 100 });
      const ofB = await store.scanMessages({ status: 'sent', bulkId: 'bulk-b', limit: 100 });
      expect(ofA.map((m) => m.id).sort()).toEqual(
        first
          .slice(0, 4)
          .map((m) => m.id)
          .sort(),
      );
      expect(ofB.map((m) => m.id).sort()).toEqual(second.map((m) => m.id).sort());
    });

    it('refuses a status that is not one, rather than putting it into SQL', async () => {
      const campaign = await planned(1, 1);
      const status = 'queued > 0; DROP TABLE messages; --' as MessageStatus;
      for (const call of [
        () => store.listMessages(campaign.id, { status, limit: 1 }),
        () => store.scanMessages({ status, limit: 1 }),
      ]) {
        expect(isValidationError(await call().catch((e: unknown) => e))).toBe(true);
      }
    });

    it('rejects a cursor it did not issue', async () => {
      const campaign = await planned(1, 1);
      const error = await store
        .listMessages(campaign.id, { limit: 1, cursor: 'not-a-cursor' })
        .catch((e: unknown) => e);
      expect(isValidationError(error)).toBe(true);
    });
  });

  describe('delivery events', () => {
    const event = (overrides: Partial<StoredDeliveryEvent> = {}): StoredDeliveryEvent => ({
      key: uid('k'),
      providerMessageId: uid('p'),
      reference: uid('r'),
      state: 'delivered',
      providerStatus: 'Delivered',
      reason: null,
      occurredAt: T0,
      source: 'webhook',
      raw: { nested: { list: [1, 'two', null] }, quote: 'a "b" \\ c' },
      receivedAt: T0,
      processedAt: null,
      ...overrides,
    });

    it('stores an event once when processes race on its key, raw payload intact', async () => {
      const racing = event();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => stores()[i % 2]!.recordDeliveryEvents([racing])),
      );
      expect(results.flat()).toEqual([racing]);
      expect(
        await store.listPendingDeliveryEvents({ references: [racing.reference!], limit: 10 }),
      ).toEqual([racing]);
    });

    it('lists pending events by any handle, oldest first, and forgets processed ones', async () => {
      const old = event({ receivedAt: 1 });
      const older = event({ receivedAt: 0 });
      const fresh = event({ receivedAt: T0 * 2 });
      const done = event({ receivedAt: 2, processedAt: 3 });
      await store.recordDeliveryEvents([old, older, fresh, done]);
      const byAge = await store.listPendingDeliveryEvents({ receivedBefore: 10, limit: 10 });
      expect(byAge.map((e) => e.key)).toEqual([old.key, older.key]);
      const byHandles = await store.listPendingDeliveryEvents({
        references: [fresh.reference!, done.reference!],
        providerMessageIds: [old.providerMessageId!],
        limit: 10,
      });
      expect(byHandles.map((e) => e.key)).toEqual([old.key, fresh.key]);
      await store.markDeliveryEventsProcessed([old.key, older.key], { now: T0 });
      expect(await store.listPendingDeliveryEvents({ receivedBefore: 10, limit: 10 })).toEqual([]);
    });
  });
});
