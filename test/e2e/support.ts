// End-to-end stacks over real sockets: the fake Mitto on loopback, the real Mitto client, a DLR
// webhook receiver on loopback, and the pipeline on the in-memory adapters or on PostgreSQL.
// `describeScenarios` (scenarios.ts) runs the same protocol scenarios on each.

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CampaignStore,
  type CreditLedger,
  createMemoryLedger,
  createMemoryQueue,
  createMemoryRateLimiter,
  createMemoryStore,
  createMemorySubscriptionGuard,
  createMemorySuppressionList,
  createSmsPipeline,
  type PipelineOptions,
  type SmsPipeline,
} from '@smsbatch/core';
import { createMittoClient, parseDeliveryReports } from '@smsbatch/mitto-client';
import {
  type FakeMitto,
  type FakeMittoOptions,
  startFakeMitto,
} from '@smsbatch/mitto-client/testing';

export interface E2eStack {
  pipeline: SmsPipeline;
  store: CampaignStore;
  ledger: CreditLedger;
  fake: FakeMitto;
  suppress(ownerId: string, phones: string[]): Promise<void>;
  setSubscription(ownerId: string, isActive: boolean): Promise<void>;
  /** The next store write that records an accepted send fails, as if the database dropped. */
  failNextRecord(): Promise<void>;
  close(): Promise<void>;
}

export interface StackSetup {
  options?: PipelineOptions;
  fake?: FakeMittoOptions;
}

export type StackFactory = (setup: StackSetup) => Promise<E2eStack>;

/** Short windows so every scenario settles in seconds. */
export const E2E_OPTIONS: PipelineOptions = {
  defaultSender: 'Shop',
  defaultTrafficAccountId: 'ta-e2e',
  defaultCountry: 'GR',
  batchWindow: 4,
  leaseMs: 10_000,
  unconfirmedAfterMs: 30_000,
  retryBaseMs: 20,
  retryMaxMs: 200,
  staleAfterMs: 1_000,
  pendingEventRetryMs: 200,
};

const WEBHOOK_SECRET = 'e2e-secret';

/** A DLR webhook on loopback: parses what the fake posts and hands it to the pipeline. */
async function startWebhookReceiver(
  deliver: (
    events: ReturnType<typeof parseDeliveryReports>['events'],
    raw: unknown[],
  ) => Promise<unknown>,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.headers['x-webhook-token'] !== WEBHOOK_SECRET) {
        res.writeHead(401).end();
        return;
      }
      const parsed = parseDeliveryReports(Buffer.concat(chunks).toString('utf8'));
      deliver(
        parsed.events,
        parsed.events.map((e) => e.raw),
      )
        .then(() => res.writeHead(202).end())
        .catch(() => res.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/webhooks/mitto/dlr`, server };
}

/**
 * A fake Mitto whose delivery reports go to a webhook receiver on loopback (the options may set
 * their delay, failures and so on); the receiver hands them to `deliver`. `close` stops both.
 */
export async function startFakeWithWebhook(
  deliver: Parameters<typeof startWebhookReceiver>[0],
  options: FakeMittoOptions = {},
): Promise<{ fake: FakeMitto; close(): Promise<void> }> {
  const receiver = await startWebhookReceiver(deliver);
  const fake = await startFakeMitto({
    ...options,
    deliveryReports: {
      url: receiver.url,
      headers: { 'X-Webhook-Token': WEBHOOK_SECRET },
      delayMs: 20,
      ...options.deliveryReports,
    },
  });
  return {
    fake,
    async close() {
      await fake.close();
      await new Promise((resolve) => receiver.server.close(resolve));
    },
  };
}

/** Wraps a store so that `failNext()` makes the next write of an accepted send throw. */
export function withRecordFault(store: CampaignStore) {
  let armed = false;
  const wrapped: CampaignStore = {
    ...store,
    applyTransitions: async (transitions, options) => {
      if (armed && transitions.some((t) => t.to === 'sent')) {
        armed = false;
        throw new Error('Connection terminated unexpectedly');
      }
      return store.applyTransitions(transitions, options);
    },
  };
  return {
    store: wrapped,
    failNext: async () => {
      armed = true;
    },
  };
}

/**
 * A stack in this process: in-process queue and limiter, the given store and ledger (in-memory
 * by default), the reconciler ticking every 200 ms.
 */
export function inProcessStack(
  makeStorage: () => Promise<{
    store: CampaignStore;
    ledger: CreditLedger;
    close?: () => Promise<void>;
  }> = async () => ({
    store: createMemoryStore(),
    ledger: createMemoryLedger(),
  }),
): StackFactory {
  return async (setup) => {
    const storage = await makeStorage();
    const faulty = withRecordFault(storage.store);
    const suppression = createMemorySuppressionList();
    const subscription = createMemorySubscriptionGuard();
    const queue = createMemoryQueue({
      concurrency: 4,
      laneConcurrency: { test: 2 },
      backoff: { baseMs: 10, maxMs: 100 },
    });
    let pipeline: SmsPipeline | null = null;
    const { fake, close: closeFake } = await startFakeWithWebhook(
      (events, raw) => pipeline!.receiveDeliveryReports(events, raw),
      setup.fake,
    );
    const provider = createMittoClient({
      baseUrl: fake.url,
      apiKey: fake.apiKey,
      timeoutMs: 2_000,
      maxRetries: 0,
    });
    pipeline = createSmsPipeline({
      store: faulty.store,
      ledger: storage.ledger,
      provider,
      queue,
      limiter: createMemoryRateLimiter({ limits: () => null }),
      suppression,
      subscription,
      options: { ...E2E_OPTIONS, ...setup.options },
    });
    queue.process(pipeline.handleJob);
    const ticker = setInterval(() => void pipeline?.reconcile().catch(() => undefined), 200);
    return {
      pipeline,
      store: faulty.store,
      ledger: storage.ledger,
      fake,
      suppress: async (ownerId, phones) => suppression.add(ownerId, phones),
      setSubscription: async (ownerId, isActive) =>
        subscription.setActive(ownerId, isActive, 'unpaid'),
      failNextRecord: faulty.failNext,
      async close() {
        clearInterval(ticker);
        await queue.close();
        await closeFake();
        await provider.close();
        await storage.close?.();
      },
    };
  };
}

export const newOwnerId = () => `owner-${randomUUID().slice(0, 12)}`;
