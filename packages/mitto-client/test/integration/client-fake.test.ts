// The client against the fake Mitto over real loopback sockets: what "not sent" and "maybe sent"
// look like when the network really misbehaves.

import { createServer } from 'node:net';
import { inspect } from 'node:util';
import type { Logger, OutboundSms } from '@smsbatch/core';
import {
  createMittoClient,
  isMittoAbortError,
  isMittoAmbiguousError,
  isMittoAuthenticationError,
  isMittoConnectionError,
  type MittoClient,
  type MittoClientOptions,
  type MittoError,
} from '@smsbatch/mitto-client';
import {
  type FakeMitto,
  type FakeMittoOptions,
  startFakeMitto,
} from '@smsbatch/mitto-client/testing';
import { afterEach, describe, expect, it } from 'vitest';

const sms = (i: number, overrides: Partial<OutboundSms> = {}): OutboundSms => ({
  reference: `camp-${i}`,
  destination: `+30691${String(1_000_000 + i)}`,
  text: `Hi ${i}`,
  sender: 'Shop',
  trafficAccountId: 'ta-1',
  ...overrides,
});
const batch = (n: number, from = 0) => Array.from({ length: n }, (_, i) => sms(from + i));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

async function fakeAndClient(
  fakeOptions: FakeMittoOptions = {},
  clientOptions: Partial<MittoClientOptions> = {},
): Promise<{ fake: FakeMitto; client: MittoClient }> {
  const fake = await startFakeMitto({ seed: 7, ...fakeOptions });
  cleanups.push(() => fake.close());
  const client = createMittoClient({
    baseUrl: fake.url,
    apiKey: fake.apiKey,
    backoff: { initialDelayMs: 5, maxDelayMs: 20 },
    ...clientOptions,
  });
  cleanups.push(() => client.close());
  return { fake, client };
}

async function failure(promise: Promise<unknown>): Promise<MittoError> {
  try {
    await promise;
  } catch (error) {
    return error as MittoError;
  }
  throw new Error('expected the call to fail');
}

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('client × fake Mitto over sockets', () => {
  it('sends a bulk and reads it back by lookup, reference included', async () => {
    const { fake, client } = await fakeAndClient();
    const result = await client.sendBulk(batch(50));
    expect(result.results.every((r) => r.status === 'accepted')).toBe(true);
    expect(fake.accepted).toHaveLength(50);
    expect(fake.accepted.map((m) => m.bulkId)).toEqual(Array(50).fill(result.bulkId));
    const first = result.results[0] as { providerMessageId: string };
    await expect(client.lookup(first.providerMessageId)).resolves.toMatchObject({
      providerMessageId: first.providerMessageId,
      reference: 'camp-0',
      state: 'sent',
    });
    await expect(client.lookup('fm-unknown-1')).resolves.toBeNull();
    expect(fake.duplicates()).toEqual({ byReference: 0, byDestinationAndText: 0, references: [] });
  });

  it('reports per-item rejections for destinations Mitto refuses', async () => {
    const { client } = await fakeAndClient({
      faults: { rejectDestinations: [sms(1).destination] },
    });
    const { results } = await client.sendBulk(batch(3));
    expect(results.map((r) => r.status)).toEqual(['accepted', 'rejected', 'accepted']);
    expect(results[1]).toEqual({
      status: 'rejected',
      reason: 'Invalid destination',
      isRetryable: false,
    });
  });

  it('surfaces accept-then-drop as ambiguous, while the fake shows the messages accepted', async () => {
    const { fake, client } = await fakeAndClient({}, { maxRetries: 3 });
    fake.failNext({ type: 'drop-after-accept' });
    const error = await failure(client.sendBulk(batch(4)));
    expect(isMittoAmbiguousError(error)).toBe(true);
    expect(error).toMatchObject({ sendState: 'maybe-sent', reason: 'connection_lost' });
    expect(fake.accepted.map((m) => m.reference)).toEqual(['camp-0', 'camp-1', 'camp-2', 'camp-3']);
    expect(fake.stats()).toMatchObject({ sendRequests: 1, dropped: 1, accepted: 4 });
    // Never resent: a second request would have made duplicates.
    expect(fake.duplicates().byReference).toBe(0);
  });

  it('surfaces a hung server as an ambiguous timeout and does not retry', async () => {
    const { fake, client } = await fakeAndClient(
      { faults: { hangRate: 1, hangAfterAccept: true } },
      { timeoutMs: 300, maxRetries: 3 },
    );
    const error = await failure(client.sendBulk(batch(2)));
    expect(error).toMatchObject({ code: 'ambiguous', reason: 'timeout', sendState: 'maybe-sent' });
    expect(fake.stats()).toMatchObject({ sendRequests: 1, hung: 1 });
    expect(fake.accepted).toHaveLength(2);
  });

  it('keeps working after a hung request: the hung socket is not reused', async () => {
    const { fake, client } = await fakeAndClient({}, { timeoutMs: 300, connections: 1 });
    fake.failNext({ type: 'hang' });
    await failure(client.sendBulk(batch(1)));
    await expect(client.sendBulk(batch(1, 1))).resolves.toMatchObject({
      results: [{ status: 'accepted' }],
    });
  });

  it('retries a refused connection (not sent) and gives up with a connection error', async () => {
    const port = await closedPort();
    const warnings: unknown[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (object) => warnings.push(object),
      error: () => {},
      child: () => logger,
    };
    const client = createMittoClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: 'secret-key-123',
      maxRetries: 2,
      backoff: { initialDelayMs: 5, maxDelayMs: 10 },
      logger,
    });
    cleanups.push(() => client.close());
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoConnectionError(error)).toBe(true);
    expect(error).toMatchObject({ sendState: 'not-sent', isRetryable: true });
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(warnings).toHaveLength(2);
    expect(inspect(error, { depth: 10 })).not.toContain('secret-key-123');
  });

  it('recovers from a refused connection once the server is up', async () => {
    const port = await closedPort();
    let starting: Promise<FakeMitto> | null = null;
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      // The first retry is scheduled: bring the server up on the refused port meanwhile.
      warn: () => {
        starting ??= startFakeMitto({ port });
      },
      error: () => {},
      child: () => logger,
    };
    const client = createMittoClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: 'test-api-key',
      maxRetries: 5,
      backoff: { initialDelayMs: 300, maxDelayMs: 300 },
      logger,
    });
    cleanups.push(() => client.close());
    const result = await client.sendBulk(batch(2));
    expect(starting).not.toBeNull();
    const fake = await starting!;
    cleanups.push(() => fake.close());
    expect(result.results.map((r) => r.status)).toEqual(['accepted', 'accepted']);
    expect(fake.accepted).toHaveLength(2);
  });

  it('waits out a 429 Retry-After, then succeeds', async () => {
    const { fake, client } = await fakeAndClient();
    fake.failNext({ type: 'rate-limit', retryAfter: '1' });
    const started = performance.now();
    const result = await client.sendBulk(batch(3));
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(result.results.every((r) => r.status === 'accepted')).toBe(true);
    expect(fake.stats()).toMatchObject({ sendRequests: 2, rateLimited: 1, accepted: 3 });
  });

  it('retries 5xx (nothing accepted) without duplicating', async () => {
    const { fake, client } = await fakeAndClient();
    fake.failNext({ type: 'server-error', status: 502 }, { type: 'server-error' });
    await client.sendBulk(batch(5));
    expect(fake.stats()).toMatchObject({ sendRequests: 3, serverErrors: 2, accepted: 5 });
    expect(fake.duplicates().byReference).toBe(0);
  });

  it('treats a garbled 200 and a short answer as ambiguous', async () => {
    const { fake, client } = await fakeAndClient({}, { maxRetries: 3 });
    fake.failNext({ type: 'garbled-success' }, { type: 'short-answer' });
    const garbled = await failure(client.sendBulk(batch(2)));
    const short = await failure(client.sendBulk(batch(2, 2)));
    expect(garbled).toMatchObject({ code: 'ambiguous', reason: 'unreadable_response' });
    expect(short).toMatchObject({ code: 'ambiguous', reason: 'length_mismatch' });
    expect(fake.stats().sendRequests).toBe(2);
    expect(fake.accepted).toHaveLength(4);
  });

  it('answers 401 to a wrong key', async () => {
    const { fake } = await fakeAndClient();
    const client = createMittoClient({ baseUrl: fake.url, apiKey: 'wrong' });
    cleanups.push(() => client.close());
    expect(isMittoAuthenticationError(await failure(client.sendBulk(batch(1))))).toBe(true);
    expect(fake.stats()).toMatchObject({ unauthorized: 1, accepted: 0 });
  });

  it('an abort while the request waits for a connection is not-sent', async () => {
    const { fake, client } = await fakeAndClient({}, { connections: 1, timeoutMs: 5_000 });
    fake.failNext({ type: 'hang' });
    const hung = failure(client.sendBulk(batch(1)));
    // Give the first request the only connection.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const controller = new AbortController();
    const queued = failure(client.sendBulk(batch(1, 1), { signal: controller.signal }));
    controller.abort();
    const error = await queued;
    expect(isMittoAbortError(error)).toBe(true);
    expect(error.sendState).toBe('not-sent');
    expect(fake.accepted).toHaveLength(0);
    // Closing the fake ends the hung request; the client's close() would wait for it.
    await fake.close();
    expect(await hung).toMatchObject({ code: 'ambiguous' });
  });

  it('a timeout while the request still waits for a connection is not-sent', async () => {
    const { fake, client } = await fakeAndClient(
      {},
      { connections: 1, timeoutMs: 5_000, maxRetries: 0 },
    );
    fake.failNext({ type: 'hang' });
    const hung = failure(client.sendBulk(batch(1)));
    const error = await failure(client.sendBulk(batch(1, 1), { timeoutMs: 100 }));
    expect(isMittoConnectionError(error)).toBe(true);
    expect(error.sendState).toBe('not-sent');
    expect(error.message).toContain('could not be sent within 100 ms');
    await fake.close();
    await hung;
  });

  it('an abort while Mitto holds the request is ambiguous', async () => {
    const { fake, client } = await fakeAndClient();
    fake.failNext({ type: 'hang', accept: true });
    const controller = new AbortController();
    const sending = failure(client.sendBulk(batch(1), { signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    expect(await sending).toMatchObject({ code: 'ambiguous', reason: 'aborted' });
    expect(fake.accepted).toHaveLength(1);
  });

  it('injects the same faults in the same order for the same seed', async () => {
    const run = async () => {
      const { fake, client } = await fakeAndClient(
        { seed: 42, faults: { rejectRate: 0.3 } },
        { maxRetries: 0 },
      );
      const outcomes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const { results } = await client.sendBulk(batch(20, i * 20));
        outcomes.push(results.map((r) => (r.status === 'accepted' ? 'a' : 'r')).join(''));
      }
      return { outcomes, stats: fake.stats() };
    };
    const first = await run();
    const second = await run();
    expect(second.outcomes).toEqual(first.outcomes);
    expect(first.stats.rejected).toBeGreaterThan(10);
    expect(first.stats.rejected).toBeLessThan(60);
  });

  it('counts duplicates by reference and by destination and text', async () => {
    const { fake, client } = await fakeAndClient();
    await client.sendBulk(batch(3));
    await client.sendBulk([sms(0), sms(1, { reference: 'other' })]);
    expect(fake.duplicates()).toEqual({
      byReference: 1,
      byDestinationAndText: 2,
      references: ['camp-0'],
    });
  });

  it('changes faults at runtime', async () => {
    const { fake, client } = await fakeAndClient(
      { faults: { serverErrorRate: 1 } },
      { maxRetries: 0 },
    );
    await failure(client.sendBulk(batch(1)));
    fake.setFaults({ serverErrorRate: 0 });
    await expect(client.sendBulk(batch(1))).resolves.toBeDefined();
    fake.setFaults({ rateLimitRate: 1, retryAfterSeconds: 7 });
    expect(await failure(client.sendBulk(batch(1)))).toMatchObject({
      code: 'rate_limited',
      retryAfterMs: 7_000,
    });
  });

  it('close() ends hung sockets', async () => {
    const fake = await startFakeMitto({ faults: { hangRate: 1 } });
    const client = createMittoClient({ baseUrl: fake.url, apiKey: fake.apiKey, timeoutMs: 20_000 });
    cleanups.push(() => client.close());
    const pending = failure(client.sendBulk(batch(1)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fake.close();
    // The destroyed socket ends the call long before its 20 s timeout.
    expect(await pending).toMatchObject({ code: 'ambiguous', reason: 'connection_lost' });
  });
});
