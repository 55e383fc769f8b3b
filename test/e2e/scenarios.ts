// The send protocol's scenarios end to end, over real sockets against the fake Mitto. Each stack
// (in-memory, PostgreSQL, BullMQ with worker processes) runs all of them, and after each one the
// fake's record and the ledger must show the protocol's promises: no destination sent twice,
// credits captured exactly for what Mitto accepted, nothing left reserved once settled.

import type { CampaignStatusView, MessageRecord } from '@smsbatch/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type E2eStack, newOwnerId, type StackFactory, type StackSetup } from './support.js';

const GREEK = 'Γεια σου {{name}}! Έκπτωση 20% σε όλα σήμερα.';
const ENGLISH = 'Hi {{name}}, 20% off everything today: {{code|SALE20}}';

export function recipients(count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => ({
    phone: `+3069${String(40_000_000 + from + i)}`,
    contactId: `contact-${from + i}`,
    vars: { name: `Name${from + i}` },
  }));
}

export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the campaign settled and every delivery report arrived. */
export type StackView = Pick<E2eStack, 'pipeline' | 'store' | 'ledger' | 'fake'>;

export async function settled(stack: StackView, ownerId: string, campaignId: string) {
  const view = await waitFor(
    () => stack.pipeline.campaigns.status(ownerId, campaignId),
    (v) => v.finishedAt !== null,
    `campaign ${campaignId} to settle`,
  );
  await stack.fake.flushDeliveryReports({ timeoutMs: 10_000 });
  return view;
}

async function allMessages(stack: StackView, campaignId: string): Promise<MessageRecord[]> {
  const out: MessageRecord[] = [];
  let cursor: string | null = null;
  do {
    const page = await stack.store.listMessages(campaignId, { limit: 1000, cursor });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

/** The promises, checked against the fake's own record of what it accepted. */
export async function expectInvariants(stack: StackView, ownerId: string, campaignId: string) {
  expect(stack.fake.duplicates()).toMatchObject({ byReference: 0, byDestinationAndText: 0 });
  const messages = await allMessages(stack, campaignId);
  const byId = new Map(messages.map((m) => [m.id, m]));
  const acceptedHere = stack.fake.accepted.filter(
    (a) => a.reference !== null && byId.has(a.reference),
  );
  const acceptedCost = acceptedHere.reduce((sum, a) => sum + byId.get(a.reference!)!.cost, 0);
  const view = await stack.pipeline.campaigns.status(ownerId, campaignId);
  expect(view.creditsDebited).toBe(acceptedCost);
  for (const a of acceptedHere) expect(byId.get(a.reference!)?.isAccepted).toBe(true);
  if (view.finishedAt !== null) {
    expect(view.creditsReserved).toBe(0);
    expect(view.queued + view.sending + view.unknown).toBe(0);
  }
  const balance = await stack.ledger.balance(ownerId);
  expect(balance.reserved).toBeLessThanOrEqual(balance.balance);
  return { view, messages, acceptedCost };
}

export function describeScenarios(name: string, createStack: StackFactory) {
  describe(`end to end: ${name}`, () => {
    let stack: E2eStack | null = null;
    const start = async (setup: StackSetup = {}) => {
      stack = await createStack(setup);
      return stack;
    };
    afterEach(async () => {
      await stack?.close();
      stack = null;
    });

    const owner = async (s: E2eStack, credits: number) => {
      const ownerId = newOwnerId();
      await s.ledger.credit(ownerId, credits, `${ownerId}-topup`);
      return ownerId;
    };
    const campaign = (s: E2eStack, ownerId: string, count: number, text = ENGLISH, from = 0) =>
      s.pipeline.campaigns.create(ownerId, {
        name: 'Spring sale',
        text,
        recipients: recipients(count, from),
      });

    it('sends every message once, Greek and English, and captures exactly what Mitto accepted', async () => {
      const s = await start();
      const ownerId = await owner(s, 10_000);
      const english = await campaign(s, ownerId, 600);
      const greek = await campaign(s, ownerId, 400, GREEK, 1000);
      await s.pipeline.campaigns.enqueue(ownerId, english.id);
      await s.pipeline.campaigns.enqueue(ownerId, greek.id);
      for (const c of [english, greek]) {
        await settled(s, ownerId, c.id);
        const view = await waitFor(
          () => s.pipeline.campaigns.status(ownerId, c.id),
          (v) => v.delivered === c.total,
          'delivery reports',
        );
        expect(view).toMatchObject({ status: 'completed', failed: 0, skipped: 0 });
        await expectInvariants(s, ownerId, c.id);
      }
      expect(s.fake.accepted).toHaveLength(1000);
      expect(await s.ledger.balance(ownerId)).toEqual({
        balance: 9000,
        reserved: 0,
        available: 9000,
      });
    });

    it('fails rejected messages without charging them', async () => {
      const s = await start({ fake: { seed: 7, faults: { rejectRate: 0.2 } } });
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 300);
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      const view = await settled(s, ownerId, c.id);
      expect(view.failed).toBeGreaterThan(20);
      expect(view.failed + view.sent + view.delivered).toBe(300);
      const { acceptedCost } = await expectInvariants(s, ownerId, c.id);
      expect(acceptedCost).toBe(300 - view.failed);
      expect(await s.ledger.balance(ownerId)).toMatchObject({
        balance: 1000 - acceptedCost,
        reserved: 0,
      });
    });

    it('retries 5xx and 429 answered before acceptance, then sends once', async () => {
      const s = await start();
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 50);
      s.fake.failNext(
        { type: 'server-error', status: 503 },
        { type: 'rate-limit', retryAfter: '0' },
      );
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      const view = await settled(s, ownerId, c.id);
      expect(view).toMatchObject({ status: 'completed', failed: 0 });
      expect(s.fake.accepted).toHaveLength(50);
      expect(s.fake.stats()).toMatchObject({ serverErrors: 1, rateLimited: 1 });
      await expectInvariants(s, ownerId, c.id);
    });

    it('never resends after accept-then-drop: the report settles it, credits captured once', async () => {
      const s = await start();
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 40);
      s.fake.failNext({ type: 'drop-after-accept' });
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      const view = await settled(s, ownerId, c.id);
      expect(view).toMatchObject({ status: 'completed', unknown: 0, failed: 0 });
      expect(s.fake.accepted).toHaveLength(40);
      expect(s.fake.stats().dropped).toBe(1);
      const { acceptedCost } = await expectInvariants(s, ownerId, c.id);
      expect(acceptedCost).toBe(40);
    });

    it('does not resend when the store write fails after Mitto accepted', async () => {
      const s = await start();
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 30);
      await s.failNextRecord();
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      const view = await settled(s, ownerId, c.id);
      expect(view).toMatchObject({ status: 'completed', unknown: 0 });
      expect(s.fake.accepted).toHaveLength(30);
      const { messages } = await expectInvariants(s, ownerId, c.id);
      // One batch of 30: its outcome was lost, so every message went unknown, then a report came.
      expect(messages.filter((m) => m.error === 'outcome not recorded')).toHaveLength(30);
      expect(s.fake.stats().requests).toBe(1);
    });

    it('refuses enqueue without enough credits and sends nothing', async () => {
      const s = await start();
      const ownerId = await owner(s, 10);
      const c = await campaign(s, ownerId, 20);
      await expect(s.pipeline.campaigns.enqueue(ownerId, c.id)).rejects.toMatchObject({
        code: 'insufficient_credits',
      });
      expect(await s.ledger.balance(ownerId)).toEqual({ balance: 10, reserved: 0, available: 10 });
      expect(s.fake.stats().requests).toBe(0);
    });

    it('refuses enqueue for an inactive subscription', async () => {
      const s = await start();
      const ownerId = await owner(s, 100);
      const c = await campaign(s, ownerId, 5);
      await s.setSubscription(ownerId, false);
      await expect(s.pipeline.campaigns.enqueue(ownerId, c.id)).rejects.toMatchObject({
        code: 'subscription_inactive',
      });
      expect(await s.ledger.balance(ownerId)).toMatchObject({ reserved: 0 });
    });

    it('lets two campaigns of one owner race for the same credits without overspending', async () => {
      const s = await start();
      const ownerId = await owner(s, 150);
      const a = await campaign(s, ownerId, 100);
      const b = await campaign(s, ownerId, 100, ENGLISH, 500);
      const results = await Promise.allSettled([
        s.pipeline.campaigns.enqueue(ownerId, a.id),
        s.pipeline.campaigns.enqueue(ownerId, b.id),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const winner = results[0]!.status === 'fulfilled' ? a : b;
      await settled(s, ownerId, winner.id);
      expect(s.fake.accepted).toHaveLength(100);
      expect(await s.ledger.balance(ownerId)).toEqual({ balance: 50, reserved: 0, available: 50 });
      await expectInvariants(s, ownerId, winner.id);
    });

    it('does not send to a contact suppressed between enqueue and send, nor charge it', async () => {
      const s = await start({
        options: { batchSize: 10, batchWindow: 1 },
        fake: { faults: { latencyMs: 40 } },
      });
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 100);
      const late = recipients(100)[95]!.phone;
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      await s.suppress(ownerId, [late]);
      const view = await settled(s, ownerId, c.id);
      expect(s.fake.accepted.map((m) => m.destination)).not.toContain(late);
      expect(view).toMatchObject({ skipped: 1 });
      const { acceptedCost } = await expectInvariants(s, ownerId, c.id);
      expect(acceptedCost).toBe(99);
    });

    it('sends nothing while paused and nothing twice after resume', async () => {
      const s = await start({
        options: { batchSize: 10, batchWindow: 1 },
        fake: { faults: { latencyMs: 30 } },
      });
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 200);
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      await waitFor(
        async () => s.fake.accepted.length,
        (n) => n >= 20,
        'a few batches',
      );
      await s.pipeline.campaigns.pause(ownerId, c.id);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the batch in flight lands
      const whilePaused = s.fake.accepted.length;
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(s.fake.accepted.length).toBe(whilePaused);
      expect(whilePaused).toBeLessThan(200);
      expect((await s.pipeline.campaigns.status(ownerId, c.id)).status).toBe('paused');
      await s.pipeline.campaigns.resume(ownerId, c.id);
      const view = await settled(s, ownerId, c.id);
      expect(view.status).toBe('completed');
      expect(s.fake.accepted).toHaveLength(200);
      await expectInvariants(s, ownerId, c.id);
    });

    it('cancels mid-way: nothing more is sent, unsent credits come back', async () => {
      const s = await start({
        options: { batchSize: 10, batchWindow: 1 },
        fake: { faults: { latencyMs: 30 } },
      });
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 200);
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      await waitFor(
        async () => s.fake.accepted.length,
        (n) => n >= 20,
        'a few batches',
      );
      await s.pipeline.campaigns.cancel(ownerId, c.id);
      const view: CampaignStatusView = await settled(s, ownerId, c.id);
      const sentAtCancel = s.fake.accepted.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(s.fake.accepted.length).toBe(sentAtCancel);
      expect(view.status).toBe('cancelled');
      expect(view.cancelled).toBe(200 - sentAtCancel);
      const { acceptedCost } = await expectInvariants(s, ownerId, c.id);
      expect(await s.ledger.balance(ownerId)).toEqual({
        balance: 1000 - acceptedCost,
        reserved: 0,
        available: 1000 - acceptedCost,
      });
    });

    it('sends one message per call with USE_BULK_SMS=false, through the same protocol', async () => {
      const s = await start({ options: { useBulk: false } });
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 60);
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      const view = await settled(s, ownerId, c.id);
      expect(view.status).toBe('completed');
      expect(s.fake.accepted).toHaveLength(60);
      expect(s.fake.accepted.every((m) => m.bulkId === null)).toBe(true);
      await expectInvariants(s, ownerId, c.id);
    });

    it('moves forward only under duplicate, late and out-of-order delivery reports', async () => {
      const s = await start({
        fake: {
          seed: 3,
          deliveryReports: {
            duplicateRate: 0.5,
            lateSentRate: 0.5,
            reportSent: true,
            failureRate: 0.2,
          },
        },
      });
      const ownerId = await owner(s, 1000);
      const c = await campaign(s, ownerId, 200);
      await s.pipeline.campaigns.enqueue(ownerId, c.id);
      await settled(s, ownerId, c.id);
      const finals = new Map(s.fake.accepted.map((m) => [m.reference, m.deliveryStatus]));
      const view = await waitFor(
        () => s.pipeline.campaigns.status(ownerId, c.id),
        (v) => v.delivered + v.failed === 200,
        'final reports',
      );
      const { messages } = await expectInvariants(s, ownerId, c.id);
      for (const m of messages) {
        const final = finals.get(m.id);
        expect(m.status).toBe(final === 'Delivered' ? 'delivered' : 'failed');
      }
      expect(view.creditsDebited).toBe(200);
    });
  });
}
