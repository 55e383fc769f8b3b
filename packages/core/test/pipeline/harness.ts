// A pipeline on the in-memory adapters with a scripted provider: fast, deterministic tests of the
// protocol's edge cases (crashes, lost answers, store failures). The same scenarios run over real
// sockets against the fake Mitto in test/e2e.

import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import {
  type CampaignStore,
  type CreditLedger,
  createMemoryLedger,
  createMemoryQueue,
  createMemoryStore,
  createMemorySubscriptionGuard,
  createMemorySuppressionList,
  createSmsPipeline,
  type DeliveryEvent,
  type OutboundSms,
  type PipelineOptions,
  type RateLimiter,
  type SendOutcome,
  type SmsProvider,
} from '../../src/index.js';

/** What the provider does with one call. */
export type Step =
  | { kind: 'answer'; reject?: (m: OutboundSms, i: number) => string | null }
  | { kind: 'throw'; error: Error; accept?: boolean };

export const notSent = (status: number, retryAfterMs?: number) =>
  Object.assign(new Error(`HTTP ${status}`), {
    sendState: 'not-sent' as const,
    isRetryable: status === 429 || status >= 500,
    isRateLimited: status === 429,
    retryAfterMs,
  });

export const maybeSent = () =>
  Object.assign(new Error('socket hang up after the body was sent'), {
    sendState: 'maybe-sent' as const,
    isRetryable: false,
  });

export class ScriptedProvider implements SmsProvider {
  /** Every message the provider accepted, in order (duplicates included). */
  readonly accepted: (OutboundSms & { providerMessageId: string })[] = [];
  readonly calls: number[] = [];
  /** Runs before each call is answered (to change the world mid-campaign). */
  onCall: ((messages: readonly OutboundSms[]) => void) | null = null;
  private readonly steps: Step[] = [];
  private next = 0;

  /** The next calls do these, in order; afterwards every call is answered with acceptance. */
  plan(...steps: Step[]) {
    this.steps.push(...steps);
    return this;
  }

  private step(): Step {
    return this.steps.shift() ?? { kind: 'answer' };
  }

  private accept(message: OutboundSms) {
    const providerMessageId = `pm-${++this.next}`;
    this.accepted.push({ ...message, providerMessageId });
    return providerMessageId;
  }

  async sendBulk(messages: readonly OutboundSms[]) {
    this.calls.push(messages.length);
    this.onCall?.(messages);
    const step = this.step();
    if (step.kind === 'throw') {
      if (step.accept) for (const m of messages) this.accept(m);
      throw step.error;
    }
    const results = messages.map((m, i): SendOutcome => {
      const reason = step.reject?.(m, i) ?? null;
      return reason
        ? { status: 'rejected', reason, isRetryable: false }
        : { status: 'accepted', providerMessageId: this.accept(m) };
    });
    return { bulkId: `bulk-${this.calls.length}`, results };
  }

  async sendOne(message: OutboundSms) {
    const { results } = await this.sendBulk([message]);
    return results[0]!;
  }

  async lookup(providerMessageId: string) {
    const found = this.accepted.find((m) => m.providerMessageId === providerMessageId);
    if (!found) return null;
    return {
      providerMessageId,
      reference: found.reference,
      state: 'delivered' as const,
      providerStatus: 'Delivered',
      reason: null,
      occurredAt: null,
    };
  }

  /** Delivery reports for everything accepted so far. */
  reports(state: DeliveryEvent['state'] = 'delivered', withProviderId = true): DeliveryEvent[] {
    return this.accepted.map((m) => ({
      providerMessageId: withProviderId ? m.providerMessageId : null,
      reference: m.reference,
      state,
      providerStatus: state === 'delivered' ? 'Delivered' : state === 'sent' ? 'Sent' : 'Failed',
      reason: null,
      occurredAt: null,
    }));
  }

  duplicates(): string[] {
    const seen = new Set<string>();
    const repeated: string[] = [];
    for (const { reference } of this.accepted) {
      if (seen.has(reference)) repeated.push(reference);
      seen.add(reference);
    }
    return repeated;
  }
}

export interface HarnessOptions {
  options?: PipelineOptions;
  limiter?: RateLimiter;
  wrapStore?: (store: CampaignStore) => CampaignStore;
  wrapLedger?: (ledger: CreditLedger) => CreditLedger;
  concurrency?: number;
  /** False: jobs wait in the queue until a test runs them (`runJobs`), as if no worker ran. */
  process?: boolean;
}

export function createHarness(setup: HarnessOptions = {}) {
  const memoryStore = createMemoryStore();
  const store = setup.wrapStore ? setup.wrapStore(memoryStore) : memoryStore;
  const memoryLedger = createMemoryLedger();
  const ledger = setup.wrapLedger ? setup.wrapLedger(memoryLedger) : memoryLedger;
  const queue = createMemoryQueue({
    concurrency: setup.concurrency ?? 4,
    laneConcurrency: { test: 1 },
    backoff: { baseMs: 1, maxMs: 5 },
  });
  const provider = new ScriptedProvider();
  const suppression = createMemorySuppressionList();
  const subscription = createMemorySubscriptionGuard();
  let clockOffset = 0;
  const clock = { now: () => Date.now() + clockOffset };
  const pipeline = createSmsPipeline({
    store,
    ledger,
    provider,
    queue,
    suppression,
    subscription,
    clock,
    ...(setup.limiter ? { limiter: setup.limiter } : {}),
    options: {
      defaultSender: 'Shop',
      defaultTrafficAccountId: 'ta-1',
      defaultCountry: 'GR',
      retryBaseMs: 1,
      retryMaxMs: 5,
      ...setup.options,
    },
  });
  if (setup.process !== false) queue.process(pipeline.handleJob);

  const harness = {
    store,
    memoryStore,
    ledger,
    queue,
    provider,
    suppression,
    subscription,
    pipeline,
    /** Moves the pipeline's clock forward (leases, windows). */
    advance(ms: number) {
      clockOffset += ms;
    },
    async owner(credits: number) {
      const ownerId = `owner-${randomUUID().slice(0, 8)}`;
      if (credits > 0) await ledger.credit(ownerId, credits, `${ownerId}-topup`);
      return ownerId;
    },
    recipients(count: number, from = 0) {
      return Array.from({ length: count }, (_, i) => ({
        phone: `+3069${String(10_000_000 + from + i)}`,
        contactId: `k${from + i}`,
        vars: { name: `N${from + i}` },
      }));
    },
    async campaign(ownerId: string, count: number, extra: { text?: string } = {}) {
      return pipeline.campaigns.create(ownerId, {
        name: 'Sale',
        text: extra.text ?? 'Hi {{name}}, 20% off today',
        recipients: harness.recipients(count),
      });
    },
    /** Waits until no job is waiting, delayed or running. */
    async drain() {
      await queue.onIdle();
    },
    /** Waits until `check` holds (polling), for work that sits behind a long delayed job. */
    async until(check: () => Promise<boolean>, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('condition not reached in time');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    /** The protocol's promises: no duplicate send, credits captured exactly for accepted ones. */
    async expectInvariants(ownerId: string, campaignId?: string) {
      expect(provider.duplicates()).toEqual([]);
      const messages = memoryStore.allMessages().filter((m) => m.ownerId === ownerId);
      const acceptedRefs = new Set(provider.accepted.map((m) => m.reference));
      const accepted = messages.filter((m) => acceptedRefs.has(m.id));
      for (const m of accepted) expect(m.isAccepted || m.status === 'unknown').toBe(true);
      const balance = await ledger.balance(ownerId);
      expect(balance.balance).toBeGreaterThanOrEqual(0);
      expect(balance.reserved).toBeLessThanOrEqual(balance.balance);
      if (campaignId) {
        const campaign = await store.getCampaign(campaignId);
        expect(campaign?.acceptedCost).toBe(accepted.reduce((s, m) => s + m.cost, 0));
        if (campaign?.finishedAt !== null) {
          const view = await pipeline.campaigns.status(ownerId, campaignId);
          expect(view.creditsDebited).toBe(campaign?.acceptedCost);
          expect(view.creditsReserved).toBe(0);
        }
      }
      return balance;
    },
  };
  return harness;
}
