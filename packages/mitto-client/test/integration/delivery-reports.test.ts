// The fake's delivery reports reaching a real local webhook: batching, the shared-secret header,
// failures, duplicates, a late Sent after the final status, and retries on non-2xx.

import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OutboundSms } from '@smsbatch/core';
import { createMittoClient, parseDeliveryReports } from '@smsbatch/mitto-client';
import { type FakeMittoOptions, startFakeMitto } from '@smsbatch/mitto-client/testing';
import { afterEach, describe, expect, it } from 'vitest';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

/** A webhook that records every POST and answers `statuses` in turn (then 204). */
async function startWebhook(statuses: number[] = []) {
  const received: Received[] = [];
  let calls = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = statuses[calls++] ?? 204;
      if (status < 300) {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      }
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/webhooks/mitto/dlr`, received, calls: () => calls };
}

async function sendThrough(options: FakeMittoOptions, count: number) {
  const fake = await startFakeMitto({ seed: 3, ...options });
  cleanups.push(() => fake.close());
  const client = createMittoClient({ baseUrl: fake.url, apiKey: fake.apiKey });
  cleanups.push(() => client.close());
  const messages: OutboundSms[] = Array.from({ length: count }, (_, i) => ({
    reference: `camp-${i}`,
    destination: `+30691${String(1_000_000 + i)}`,
    text: 'Hi',
    sender: 'Shop',
    trafficAccountId: 'ta-1',
  }));
  const { results } = await client.sendBulk(messages);
  return { fake, client, results };
}

const allEvents = (received: Received[]) =>
  received.flatMap((r) => {
    const parsed = parseDeliveryReports(r.body);
    expect(parsed.unreadable).toEqual([]);
    return parsed.events;
  });

describe('fake Mitto delivery reports', () => {
  it('posts JSON arrays in batches with the configured header', async () => {
    const webhook = await startWebhook();
    const { fake, results } = await sendThrough(
      {
        deliveryReports: {
          url: webhook.url,
          headers: { 'X-Webhook-Token': 's3cret' },
          batchSize: 4,
          delayMs: 5,
        },
      },
      10,
    );
    await fake.flushDeliveryReports();
    expect(webhook.received.map((r) => JSON.parse(r.body).length)).toEqual([4, 4, 2]);
    for (const request of webhook.received) {
      expect(request.headers['x-webhook-token']).toBe('s3cret');
      expect(request.headers['content-type']).toBe('application/json');
    }
    const events = allEvents(webhook.received);
    expect(events.map((e) => e.reference)).toEqual(results.map((_, i) => `camp-${i}`));
    expect(events.every((e) => e.state === 'delivered')).toBe(true);
    expect(events.map((e) => e.providerMessageId)).toEqual(
      results.map((r) => (r as { providerMessageId: string }).providerMessageId),
    );
    expect(fake.stats()).toMatchObject({ dlrPosted: 10, dlrBatchesPosted: 3, dlrPending: 0 });
  });

  it('fails a share of messages with Failed or Undelivered and a reason', async () => {
    const webhook = await startWebhook();
    const { fake } = await sendThrough(
      { deliveryReports: { url: webhook.url, failureRate: 0.5, delayMs: 0 } },
      200,
    );
    await fake.flushDeliveryReports();
    const events = allEvents(webhook.received);
    const failed = events.filter((e) => e.state === 'failed');
    expect(failed.length).toBeGreaterThan(50);
    expect(failed.length).toBeLessThan(150);
    expect(new Set(failed.map((e) => e.providerStatus))).toEqual(
      new Set(['Failed', 'Undelivered']),
    );
    expect(failed.every((e) => typeof e.reason === 'string' && e.reason.length > 0)).toBe(true);
  });

  it('sends duplicates and a late Sent after the final status', async () => {
    const webhook = await startWebhook();
    const { fake } = await sendThrough(
      {
        deliveryReports: {
          url: webhook.url,
          duplicateRate: 1,
          lateSentRate: 1,
          reportSent: true,
          batchSize: 1000,
        },
      },
      3,
    );
    await fake.flushDeliveryReports();
    const events = allEvents(webhook.received);
    for (let i = 0; i < 3; i++) {
      const states = events.filter((e) => e.reference === `camp-${i}`).map((e) => e.state);
      expect(states).toEqual(['sent', 'delivered', 'delivered', 'sent']);
    }
    const late = events.filter((e) => e.reference === 'camp-0');
    // The late Sent carries the earlier time, as a late DLR would.
    expect(late[3]!.occurredAt!).toBeLessThan(late[1]!.occurredAt!);
  });

  it('retries a batch until the webhook answers 2xx', async () => {
    const webhook = await startWebhook([500, 503]);
    const { fake } = await sendThrough(
      { deliveryReports: { url: webhook.url, retryDelayMs: 10 } },
      5,
    );
    await fake.flushDeliveryReports();
    expect(webhook.calls()).toBe(3);
    expect(allEvents(webhook.received)).toHaveLength(5);
    expect(fake.stats()).toMatchObject({ dlrRetries: 2, dlrPosted: 5, dlrFailed: 0 });
  });

  it('gives up after maxAttempts and says so in the stats', async () => {
    const webhook = await startWebhook([500, 500, 500, 500]);
    const { fake } = await sendThrough(
      { deliveryReports: { url: webhook.url, retryDelayMs: 5, maxAttempts: 3 } },
      2,
    );
    await fake.flushDeliveryReports();
    expect(webhook.calls()).toBe(3);
    expect(fake.stats()).toMatchObject({ dlrPosted: 0, dlrFailed: 2, dlrPending: 0 });
  });

  it('lookup follows the simulated delivery, with or without a webhook', async () => {
    const { fake, client, results } = await sendThrough(
      { deliveryReports: { delayMs: 20, failureRate: 1 } },
      2,
    );
    const id = (results[0] as { providerMessageId: string }).providerMessageId;
    expect(fake.find(id)!.deliveryStatus).toBe('Queued');
    await fake.flushDeliveryReports();
    await expect(client.lookup(id)).resolves.toMatchObject({
      reference: 'camp-0',
      state: 'failed',
      reason: expect.stringMatching(/Failed|Undelivered/),
    });
  });

  it('rejects a flush that cannot finish in time', async () => {
    const webhook = await startWebhook(Array(100).fill(500));
    const { fake } = await sendThrough(
      { deliveryReports: { url: webhook.url, retryDelayMs: 1_000, maxAttempts: 100 } },
      1,
    );
    await expect(fake.flushDeliveryReports({ timeoutMs: 200 })).rejects.toThrow(/not flushed/);
  });
});
