// A real pipeline behind the router for the integration tests: core's in-memory adapters, the
// Mitto client talking to the fake Mitto over loopback, and an Express app on a free port that
// the tests reach with fetch. Two owners with static API keys, so isolation can be tested.

import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createMemoryLedger,
  createMemoryQueue,
  createMemoryStore,
  createMemorySubscriptionGuard,
  createSmsPipeline,
  type Metrics,
  type PipelineOptions,
  type SmsPipeline,
} from '@smsbatch/core';
import { createMittoClient, parseDeliveryReports } from '@smsbatch/mitto-client';
import {
  type FakeMitto,
  type FakeMittoOptions,
  startFakeMitto,
} from '@smsbatch/mitto-client/testing';
import express from 'express';
import {
  createNotFoundHandler,
  createProblemErrorHandler,
  createSmsRouter,
  type SmsRouterOptions,
} from '../src/index.js';

export const WEBHOOK_SECRET = 'test-webhook-secret';
export const OWNERS = {
  a: { id: 'owner-a', key: 'key-of-owner-a' },
  b: { id: 'owner-b', key: 'key-of-owner-b' },
  /** Has an account but no credits. */
  poor: { id: 'owner-poor', key: 'key-of-owner-poor' },
} as const;

export interface TestServerOptions {
  /** Run queued jobs (default true); off, campaigns stay `sending` for the lifecycle tests. */
  work?: boolean;
  /** Have the fake Mitto post delivery reports to this server's webhook (default true). */
  webhook?: boolean;
  fake?: FakeMittoOptions;
  pipeline?: PipelineOptions;
  maxRetries?: number;
  router?: Partial<Omit<SmsRouterOptions, 'services' | 'resolveOwner'>>;
  metrics?: Metrics;
}

export interface TestServer {
  url: string;
  pipeline: SmsPipeline;
  fake: FakeMitto;
  subscription: ReturnType<typeof createMemorySubscriptionGuard>;
  store: ReturnType<typeof createMemoryStore>;
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  // Listen first: the fake needs the webhook's URL before it starts.
  let handler: express.Router | null = null;
  const app = express();
  app.use((req, res, next) => (handler ? handler(req, res, next) : next()));
  app.use(createNotFoundHandler());
  app.use(createProblemErrorHandler());
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake = await startFakeMitto({
    ...options.fake,
    ...(options.webhook === false
      ? {}
      : {
          deliveryReports: {
            url: `${url}/webhooks/mitto/dlr`,
            headers: { 'X-Webhook-Token': WEBHOOK_SECRET },
            delayMs: 1,
            ...options.fake?.deliveryReports,
          },
        }),
  });
  const provider = createMittoClient({
    baseUrl: fake.url,
    apiKey: fake.apiKey,
    maxRetries: options.maxRetries ?? 2,
  });
  const store = createMemoryStore();
  const ledger = createMemoryLedger();
  const queue = createMemoryQueue({ concurrency: 2, laneConcurrency: { test: 1 } });
  const subscription = createMemorySubscriptionGuard();
  const pipeline = createSmsPipeline({
    store,
    ledger,
    provider,
    queue,
    subscription,
    options: {
      defaultSender: 'Retail',
      defaultTrafficAccountId: 'ta-test',
      retryBaseMs: 0,
      retryMaxMs: 10,
      ...options.pipeline,
    },
  });
  if (options.work !== false) queue.process(pipeline.handleJob);
  await ledger.credit(OWNERS.a.id, 10_000, 'seed-a');
  await ledger.credit(OWNERS.b.id, 10_000, 'seed-b');

  const owners = new Map<string, string>(Object.values(OWNERS).map((o) => [o.key, o.id]));
  handler = createSmsRouter({
    services: pipeline,
    resolveOwner: (req) => {
      const match = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
      return match ? (owners.get(match[1]!) ?? null) : null;
    },
    webhookSecret: WEBHOOK_SECRET,
    parseDeliveryReports,
    bodyLimit: '64kb',
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...options.router,
  });

  return {
    url,
    pipeline,
    fake,
    subscription,
    store,
    idle: () => queue.onIdle(),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue.close();
      await provider.close();
      await fake.close();
    },
  };
}

export type Owner = (typeof OWNERS)[keyof typeof OWNERS];

/** fetch against the server as `owner` (or with no credentials), JSON in and out. */
export function client(baseUrl: string) {
  return async (
    method: string,
    path: string,
    options: {
      owner?: Owner | null;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.owner) headers.authorization = `Bearer ${options.owner.key}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    // biome-ignore lint/suspicious/noExplicitAny: tests read response fields by name
    let json: any = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: response.status, headers: response.headers, body: json };
  };
}

/** Polls `read` until `isDone` holds; fails with the last value after `timeoutMs`. */
export async function waitFor<T>(
  read: () => Promise<T>,
  isDone: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (isDone(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `count` valid Greek mobile numbers, distinct. */
export function phones(count: number, from = 0): { phone: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    phone: `+30697${String(1_000_000 + from + i).slice(-7)}`,
  }));
}
