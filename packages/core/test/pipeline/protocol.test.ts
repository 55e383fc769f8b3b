// The send protocol on the in-memory adapters with a scripted provider: every failure mode of the
// design's protocol, checked against its promises (no duplicate send, credits captured exactly for
// what the provider accepted, nothing left reserved once settled).

import { describe, expect, it } from 'vitest';
import type { CampaignStore, CreditLedger } from '../../src/index.js';
import { createHarness, maybeSent, notSent } from './harness.js';

describe('send protocol', () => {
  it('sends every message once and captures exactly their cost', async () => {
    const h = createHarness({ options: { batchSize: 100 } });
    const owner = await h.owner(1000);
    const campaign = await h.campaign(owner, 250);
    expect(campaign).toMatchObject({ status: 'draft', total: 250, estimatedCost: 250 });
    const enqueued = await h.pipeline.campaigns.enqueue(owner, campaign.id);
    expect(enqueued).toEqual({ id: campaign.id, status: 'sending', total: 250 });
    await h.drain();
    expect(h.provider.accepted).toHaveLength(250);
    expect(h.provider.calls).toEqual([100, 100, 50]);
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({
      status: 'completed',
      sent: 250,
      queued: 0,
      creditsDebited: 250,
      creditsReserved: 0,
    });
    expect(await h.ledger.balance(owner)).toEqual({ balance: 750, reserved: 0, available: 750 });
    await h.expectInvariants(owner, campaign.id);
  });

  it('answers a second enqueue with a conflict and never sends twice', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 20);
    const results = await Promise.allSettled([
      h.pipeline.campaigns.enqueue(owner, campaign.id),
      h.pipeline.campaigns.enqueue(owner, campaign.id),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    await h.drain();
    await expect(h.pipeline.campaigns.enqueue(owner, campaign.id)).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(h.provider.accepted).toHaveLength(20);
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 80, reserved: 0 });
    await h.expectInvariants(owner, campaign.id);
  });

  it('fails rejected messages, releases their credits and keeps the rest', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 10);
    h.provider.plan({
      kind: 'answer',
      reject: (_m, i) => (i % 3 === 0 ? 'Invalid destination' : null),
    });
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({ status: 'completed', sent: 6, failed: 4, creditsDebited: 6 });
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 94, reserved: 0 });
    const failed = await h.pipeline.campaigns.messages(owner, campaign.id, { status: 'failed' });
    expect(failed.items[0]).toMatchObject({ error: 'Invalid destination', isRetryable: false });
    await h.expectInvariants(owner, campaign.id);
  });

  it('retries 5xx and 429 before acceptance, then sends once', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 10);
    h.provider.plan(
      { kind: 'throw', error: notSent(503) },
      { kind: 'throw', error: notSent(429, 5) },
    );
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    expect(h.provider.calls).toEqual([10, 10, 10]);
    expect(h.provider.accepted).toHaveLength(10);
    const message = (await h.pipeline.campaigns.messages(owner, campaign.id)).items[0];
    expect(message).toMatchObject({ status: 'sent', retryCount: 2 });
    const batch = (await h.pipeline.campaigns.batches(owner, campaign.id)).items[0];
    expect(batch).toMatchObject({ status: 'completed', attempts: 3 });
    await h.expectInvariants(owner, campaign.id);
  });

  it('gives up after maxSendAttempts and marks the messages retryable', async () => {
    const h = createHarness({ options: { maxSendAttempts: 2 } });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 5);
    h.provider.plan({ kind: 'throw', error: notSent(500) }, { kind: 'throw', error: notSent(500) });
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({
      status: 'failed',
      failed: 5,
      creditsDebited: 0,
      creditsReserved: 0,
    });
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 100, reserved: 0 });

    const retried = await h.pipeline.campaigns.retryFailed(owner, campaign.id);
    expect(retried).toEqual({ id: campaign.id, requeued: 5 });
    await h.drain();
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'completed',
      sent: 5,
      creditsDebited: 5,
    });
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 95, reserved: 0 });
    await h.expectInvariants(owner, campaign.id);
  });

  it('never resends an ambiguous batch: unknown until the report, then captured once', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 10);
    h.provider.plan({ kind: 'throw', error: maybeSent(), accept: true });
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'sending',
      unknown: 10,
      creditsReserved: 10,
    });
    expect(h.provider.calls).toEqual([10]);
    await h.pipeline.reconcile();
    expect(h.provider.calls).toEqual([10]);

    const summary = await h.pipeline.receiveDeliveryReports(h.provider.reports('delivered', false));
    expect(summary).toMatchObject({ received: 10, applied: 10, pending: 0 });
    await h.pipeline.reconcile();
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({
      status: 'completed',
      delivered: 10,
      creditsDebited: 10,
      creditsReserved: 0,
    });
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 90, reserved: 0 });
    await h.expectInvariants(owner, campaign.id);
  });

  it('fails unconfirmed sends after the window, releasing their credits', async () => {
    const h = createHarness({ options: { unconfirmedAfterMs: 60_000 } });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 4);
    h.provider.plan({ kind: 'throw', error: maybeSent() });
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    await h.pipeline.reconcile();
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({ unknown: 4 });
    h.advance(61_000);
    const report = await h.pipeline.reconcile();
    expect(report).toMatchObject({ unconfirmed: 4, campaignsSettled: 1 });
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({
      status: 'failed',
      failed: 4,
      creditsDebited: 0,
      creditsReserved: 0,
    });
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 100, reserved: 0 });
  });

  it('does not resend when the store write fails after the provider accepted', async () => {
    let failNext = true;
    const h = createHarness({
      wrapStore: (store): CampaignStore => ({
        ...store,
        applyTransitions: async (transitions, options) => {
          if (failNext && transitions.some((t) => t.to === 'sent')) {
            failNext = false;
            throw new Error('connection terminated');
          }
          return store.applyTransitions(transitions, options);
        },
      }),
    });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 6);
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      unknown: 6,
      sent: 0,
    });
    await h.pipeline.reconcile();
    await h.drain();
    expect(h.provider.accepted).toHaveLength(6);
    await h.pipeline.receiveDeliveryReports(h.provider.reports('delivered'));
    await h.pipeline.reconcile();
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'completed',
      delivered: 6,
      creditsDebited: 6,
    });
    await h.expectInvariants(owner, campaign.id);
  });

  it('settles only after a lost capture is repaired, never racing a capture on its way', async () => {
    let failCapture = true;
    const h = createHarness({
      options: { staleAfterMs: 30_000 },
      wrapLedger: (ledger): CreditLedger => ({
        ...ledger,
        capture: async (...args) => {
          if (failCapture) {
            failCapture = false;
            throw new Error('ledger unavailable');
          }
          return ledger.capture(...args);
        },
      }),
    });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 8);
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    // Everything was sent, but its capture failed: the campaign must not release the hold yet.
    expect(await h.pipeline.reconcile()).toMatchObject({ campaignsSettled: 0 });
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'sending',
      sent: 8,
      creditsDebited: 0,
      creditsReserved: 8,
    });
    h.advance(31_000);
    expect(await h.pipeline.reconcile()).toMatchObject({ campaignsSettled: 1 });
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'completed',
      creditsDebited: 8,
      creditsReserved: 0,
    });
    expect(await h.ledger.balance(owner)).toEqual({ balance: 92, reserved: 0, available: 92 });
    await h.expectInvariants(owner, campaign.id);
  });

  it('turns an expired lease (a worker killed mid-send) into unknown, never a resend', async () => {
    const h = createHarness({ options: { leaseMs: 30_000 }, process: false });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 3);
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.pipeline.handleJob({
      kind: 'plan',
      id: 'p',
      data: { campaignId: campaign.id, scheduleVersion: 1 },
      attempt: 1,
    });
    // The worker claims the batch, marks it dispatched and sends it, then dies before recording.
    const claimed = await h.store.claimMessages(
      { campaignId: campaign.id, batchNo: 0 },
      { attemptId: 'dead', leaseUntil: Date.now() + 30_000, now: Date.now() },
    );
    await h.store.updateBatch(campaign.id, 0, { dispatchedAttemptId: 'dead' });
    await h.provider.sendBulk(
      claimed.map((m) => ({
        reference: m.id,
        destination: m.phone,
        text: m.text,
        sender: m.sender,
        trafficAccountId: m.trafficAccountId,
      })),
    );
    // Its job runs again (a stalled job): the claim finds nothing queued, nothing is resent.
    await h.pipeline.handleJob({
      kind: 'batch',
      id: 'b',
      data: { campaignId: campaign.id, batchNo: 0 },
      attempt: 2,
    });
    expect(h.provider.calls).toEqual([3]);
    h.advance(31_000);
    const report = await h.pipeline.reconcile();
    expect(report.leasesExpired).toBe(3);
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({ unknown: 3 });
    await h.pipeline.receiveDeliveryReports(h.provider.reports('sent', false));
    await h.pipeline.reconcile();
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'completed',
      sent: 3,
      creditsDebited: 3,
    });
    expect(h.provider.accepted).toHaveLength(3);
    await h.expectInvariants(owner, campaign.id);
  });

  it('puts back, and sends once, what a worker claimed but died before sending', async () => {
    const h = createHarness({ options: { leaseMs: 30_000 }, process: false });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 3);
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.pipeline.handleJob({
      kind: 'plan',
      id: 'p',
      data: { campaignId: campaign.id, scheduleVersion: 1 },
      attempt: 1,
    });
    // Killed between its claim and its call to the provider: nothing went out.
    await h.store.claimMessages(
      { campaignId: campaign.id, batchNo: 0 },
      { attemptId: 'dead', leaseUntil: Date.now() + 30_000, now: Date.now() },
    );
    h.advance(31_000);
    expect(await h.pipeline.reconcile()).toMatchObject({ leasesExpired: 3 });
    const requeued = (await h.pipeline.campaigns.messages(owner, campaign.id)).items;
    expect(requeued.map((m) => [m.status, m.retryCount])).toEqual(Array(3).fill(['queued', 1]));
    await h.pipeline.handleJob({
      kind: 'batch',
      id: 'b',
      data: { campaignId: campaign.id, batchNo: 0 },
      attempt: 2,
    });
    expect(h.provider.calls).toEqual([3]);
    expect(await h.pipeline.campaigns.status(owner, campaign.id)).toMatchObject({
      status: 'completed',
      sent: 3,
      creditsDebited: 3,
    });
    await h.expectInvariants(owner, campaign.id);
  });

  it('refuses enqueue without credits and changes nothing', async () => {
    const h = createHarness();
    const owner = await h.owner(5);
    const campaign = await h.campaign(owner, 10);
    await expect(h.pipeline.campaigns.enqueue(owner, campaign.id)).rejects.toMatchObject({
      code: 'insufficient_credits',
    });
    expect(await h.ledger.balance(owner)).toEqual({ balance: 5, reserved: 0, available: 5 });
    expect((await h.store.getCampaign(campaign.id))?.status).toBe('draft');
    await h.drain();
    expect(h.provider.calls).toEqual([]);
  });

  it('refuses enqueue for an inactive subscription', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 3);
    h.subscription.setActive(owner, false, 'unpaid');
    await expect(h.pipeline.campaigns.enqueue(owner, campaign.id)).rejects.toMatchObject({
      code: 'subscription_inactive',
    });
    expect(await h.ledger.balance(owner)).toMatchObject({ reserved: 0 });
  });

  it('lets two campaigns race for the same credits without overspending', async () => {
    const h = createHarness();
    const owner = await h.owner(15);
    const [a, b] = [await h.campaign(owner, 10), await h.campaign(owner, 10)];
    const results = await Promise.allSettled([
      h.pipeline.campaigns.enqueue(owner, a.id),
      h.pipeline.campaigns.enqueue(owner, b.id),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    await h.drain();
    expect(h.provider.accepted).toHaveLength(10);
    expect(await h.ledger.balance(owner)).toEqual({ balance: 5, reserved: 0, available: 5 });
  });

  it('skips invalid, duplicate and suppressed recipients and releases their credits', async () => {
    const h = createHarness();
    const owner = await h.owner(100);
    h.suppression.add(owner, ['+306910000001']);
    const campaign = await h.pipeline.campaigns.create(owner, {
      name: 'Mixed',
      text: 'Hello',
      recipients: [
        { phone: '+306910000000' },
        { phone: '+306910000001' },
        { phone: '6910000000' },
        { phone: 'not a phone' },
        { phone: '+306910000002' },
      ],
    });
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({ status: 'completed', sent: 2, skipped: 3, creditsDebited: 2 });
    const skipped = (await h.pipeline.campaigns.messages(owner, campaign.id, { status: 'skipped' }))
      .items;
    expect(skipped.map((m) => m.error)).toEqual([
      'suppressed',
      'duplicate',
      expect.stringMatching(/^invalid_phone/),
    ]);
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 98, reserved: 0 });
  });

  it('does not send to a contact suppressed between enqueue and send, nor charge it', async () => {
    const h = createHarness({ options: { batchSize: 2, batchWindow: 1 }, concurrency: 1 });
    const owner = await h.owner(100);
    const campaign = await h.campaign(owner, 6);
    const late = h.recipients(6)[5]!.phone;
    h.provider.onCall = () => h.suppression.add(owner, [late]);
    await h.pipeline.campaigns.enqueue(owner, campaign.id);
    await h.drain();
    expect(h.provider.accepted.map((m) => m.destination)).not.toContain(late);
    const view = await h.pipeline.campaigns.status(owner, campaign.id);
    expect(view).toMatchObject({ status: 'completed', sent: 5, skipped: 1, creditsDebited: 5 });
    expect(await h.ledger.balance(owner)).toMatchObject({ balance: 95, reserved: 0 });
    await h.expectInvariants(owner, campaign.id);
  });
});
