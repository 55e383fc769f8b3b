// Campaign lifecycle on the in-memory adapters: pause/resume, cancel, scheduling, the single-send
// path, delivery reports out of order, test sends, status refresh, planning in chunks, and the
// per-traffic-account rate limit.

import { describe, expect, it } from 'vitest';
import { createMemoryRateLimiter } from '../../src/index.js';
import { createHarness } from './harness.js';

describe('campaign lifecycle', () => {
  it('sends nothing while paused and nothing twice after resume', async () => {
    const h = createHarness({ options: { batchSize: 5, batchWindow: 1 }, concurrency: 1 });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 30);
    h.provider.onCall = () => {
      if (h.provider.calls.length === 2) void h.pipeline.campaigns.pause(owner, campaign.id);
    };
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    const paused = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(paused.status).toBe('paused');
    const sentWhilePausing = h.provider.accepted.length;
    expect(sentWhilePausing).toBeLessThan(30);
    await h.pipeline.reconcile();
    await h.drain();
    expect(h.provider.accepted).toHaveLength(sentWhilePausing);

    h.provider.onCall = null;
    await h.pipeline.campaigns.resume(owner, campaign.id);
    await h.drain();
    expect(h.provider.accepted).toHaveLength(30);
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'completed',
      sent: 30,
    });
    await h.expectInvariants(owner, campaign.id);
  });

  it('cancels mid-way: unclaimed messages cancelled, their credits released, in-flight ones finish', async () => {
    const h = createHarness({ options: { batchSize: 5, batchWindow: 1 }, concurrency: 1 });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 30);
    h.provider.onCall = () => {
      if (h.provider.calls.length === 2) void h.pipeline.campaigns.cancel(owner, campaign.id);
    };
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    await h.pipeline.reconcile();
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view.status).toBe('cancelled');
    expect(view.sent).toBe(h.provider.accepted.length);
    expect(view.sent + view.cancelled).toBe(30);
    expect(view.creditsReserved).toBe(0);
    expect(view.finishedAt).not.toBeNull();
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 100 - view.sent, reserved: 0 });
    await expect(h.pipeline.campaigns.resume(owner, campaign.id)).rejects.toMatchObject({
      code: 'conflict',
    });
    await h.expectInvariants(owner, campaign.id);
  });

  it('schedules a start, reschedules it, and cancels a scheduled campaign with its hold', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 4);
    const at = Date.now() + 60_000;
    expect(
      await h.pipeline.campaigns.enqueue(owner, campaign.id, { scheduledAt: at }),
    ).toMatchObject({ status: 'scheduled' });
    expect(await h.ledger.balance(owner)).toMatchObject({ reserved: 4 });
    await h.pipeline.campaigns.reschedule(owner, campaign.id, Date.now() + 50);
    expect(h.provider.calls).toEqual([]);
    // The first delayed start is still in the queue; it finds a newer schedule and does nothing.
    await h.until(async () => (await h.store.getCampaign(campaign.id))?.status === 'completed');
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({ sent: 4 });

    const other = await h.campaign(owner, 4);
    await h.pipeline.campaigns.enqueue(owner, other.id, { scheduledAt: Date.now() + 60_000 });
    await h.pipeline.campaigns.cancel(owner, other.id);
    expect(await h.pipeline.campaigns.status(owner, other.id)).toMatchObject({
      status: 'cancelled',
      creditsReserved: 0,
    });
    expect(await h.ledger.balance(owner)).toEqual({ balance: 96, reserved: 0, available: 96 });
    await h.queue.close();
  });

  it('sends one job and one call per message with USE_BULK_SMS=false', async () => {
    const h = createHarness({ options: { useBulk: false, batchSize: 4 } });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 10);
    h.provider.plan({ kind: 'answer', reject: () => 'Invalid destination' });
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    expect(h.provider.calls).toEqual(Array(10).fill(1));
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'completed',
      sent: 9,
      failed: 1,
      creditsDebited: 9,
    });
    const batches = (await h.pipeline.campaigns.batches(owner, campaign.id)).items;
    expect(batches.map((b) => b.status)).toEqual(['completed', 'completed', 'completed']);
    await h.expectInvariants(owner, campaign.id);
  });

  it('moves messages forward only: duplicates and a late sent change nothing', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 3);
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    const delivered = h.provider.reports('delivered');
    const failed = h.provider.reports('failed');
    const sent = h.provider.reports('sent');
    expect(await h.pipeline.receiveDeliveryReports([delivered[0]!, failed[1]!])).toMatchObject({
      applied: 2,
    });
    expect(await h.pipeline.receiveDeliveryReports([delivered[0]!])).toMatchObject({
      received: 0,
      duplicates: 1,
    });
    expect(
      await h.pipeline.receiveDeliveryReports([sent[0]!, sent[1]!, delivered[1]!]),
    ).toMatchObject({ received: 3, applied: 0 });
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({ delivered: 1, failed: 1, sent: 1, creditsDebited: 3 });
    await h.expectInvariants(owner, campaign.id);
  });

  it('keeps a report that arrives before the send result and applies it once recorded', async () => {
    const h = createHarness({ process: false });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 2);
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.pipeline.handleJob({
      kind: 'plan',
      id: 'p',
      data: { campaignId: campaign.id, scheduleVersion: 1 },
      attempt: 1,
    });
    const early = [`${campaign.id}-0`, `${campaign.id}-1`].map((reference) => ({
      providerMessageId: null,
      reference,
      state: 'delivered' as const,
      providerStatus: 'Delivered',
      reason: null,
      occurredAt: null,
    }));
    expect(await h.pipeline.receiveDeliveryReports(early)).toMatchObject({
      received: 2,
      applied: 0,
      pending: 2,
    });
    await h.pipeline.handleJob({
      kind: 'batch',
      id: 'b',
      data: { campaignId: campaign.id, batchNo: 0 },
      attempt: 1,
    });
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'completed',
      delivered: 2,
    });
  });

  it('sends test messages on their own job, with their own hold', async () => {
    const h = createHarness();
    const owner = await h.owner(10);
    const { id } = await h.pipeline.messages.sendTest(owner, { to: '6912345678', text: 'Test ✓' });
    await h.drain();
    const message = await h.pipeline.messages.get(owner, id);
    expect(message).toMatchObject({
      kind: 'test',
      status: 'sent',
      phone: '+306912345678',
      encoding: 'UCS-2',
    });
    expect(await h.ledger.balance(owner)).toEqual({ balance: 9, reserved: 0, available: 9 });
    await expect(h.pipeline.messages.get('someone-else', id)).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(
      h.pipeline.messages.sendTest(owner, { to: 'nope', text: 'x' }),
    ).rejects.toMatchObject({ code: 'validation' });
  });

  it('refreshes sent messages by lookup, a bounded number of times', async () => {
    const h = createHarness({
      options: { maxLookups: 2, refreshAfterMs: 1000, refreshEveryMs: 1000 },
    });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 5);
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    expect(await h.pipeline.refreshCampaignStatuses(campaign.id)).toEqual({
      lookedUp: 5,
      updated: 5,
    });
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({ delivered: 5 });
    expect(await h.pipeline.refreshCampaignStatuses(campaign.id)).toEqual({
      lookedUp: 0,
      updated: 0,
    });
  });

  it('refreshes on request through a refresh job, and lists status views a page at a time', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    const first = await h.campaign(owner, 2);
    const second = await h.campaign(owner, 3);
    for (const c of [first, second]) await h.pipeline.campaigns.enqueue(owner, c.id);
    await h.drain();
    await h.pipeline.campaigns.refreshStatuses(owner, second.id);
    await h.drain();
    const page = await h.pipeline.campaigns.statuses(owner, { limit: 1 });
    expect(page.items).toEqual([
      expect.objectContaining({ id: second.id, delivered: 3, creditsDebited: 3 }),
    ]);
    const rest = await h.pipeline.campaigns.statuses(owner, { limit: 1, cursor: page.nextCursor });
    expect(rest.items).toEqual([expect.objectContaining({ id: first.id, sent: 2 })]);
    await expect(h.pipeline.campaigns.refreshStatuses('intruder', first.id)).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('plans a campaign in many chunks with flat batches and dedupes across chunks', async () => {
    const h = createHarness({ options: { batchSize: 10, planChunkBatches: 2, planReadSize: 7 } });
    const owner = await h.owner(1000);
    const recipients = [...h.recipients(95), ...h.recipients(20)]; // the last 20 repeat the first
    const campaign = await h.pipeline.campaigns.create(owner, {
      name: 'Big',
      text: 'Hi',
      recipients,
    });
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    expect(h.provider.accepted).toHaveLength(95);
    expect(h.provider.calls).toEqual([...Array(9).fill(10), 5]);
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({ status: 'completed', sent: 95, skipped: 20, creditsDebited: 95 });
    await h.expectInvariants(owner, campaign.id);
  });

  it('delays a batch over its traffic account budget without holding up other accounts', async () => {
    const limiter = createMemoryRateLimiter({
      limits: (key) => (key === 'ta-slow' ? { max: 5, durationMs: 400 } : null),
    });
    const h = createHarness({ limiter, options: { batchSize: 5 } });
    const owner = await h.owner(100);
    const slow = await h.pipeline.campaigns.create(owner, {
      name: 'Slow',
      text: 'Hi',
      trafficAccountId: 'slow',
      recipients: h.recipients(15),
    });
    const fast = await h.pipeline.campaigns.create(owner, {
      name: 'Fast',
      text: 'Hi',
      trafficAccountId: 'fast',
      recipients: h.recipients(15, 100),
    });
    const started = Date.now();
    await h.pipeline.campaigns.enqueue(owner, slow.id);
    await h.pipeline.campaigns.enqueue(owner, fast.id);
    await h.drain();
    const [slowDone, fastDone] = await Promise.all([
      h.store.getCampaign(slow.id),
      h.store.getCampaign(fast.id),
    ]);
    // 15 messages at 5 per 400 ms cannot finish in under 800 ms; the other account waits for none of it.
    expect(slowDone!.finishedAt! - started).toBeGreaterThanOrEqual(790);
    expect(slowDone!.finishedAt! - fastDone!.finishedAt!).toBeGreaterThan(500);
    expect(await h.pipeline.campaigns.status(owner, slow.id)).toMatchObject({
      status: 'completed',
      sent: 15,
    });
  });
});
