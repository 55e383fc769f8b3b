// The DLR webhook: its secret (header, and the query string only when enabled), the body shapes
// Mitto sends (JSON object or array, form, GET query), and what it does with bad bodies.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  client,
  OWNERS,
  phones,
  startTestServer,
  type TestServer,
  WEBHOOK_SECRET,
  waitFor,
} from '../helpers.js';

const { a } = OWNERS;
const DLR = '/webhooks/mitto/dlr';
const withToken = { 'x-webhook-token': WEBHOOK_SECRET };

interface SentMessage {
  id: string;
  providerMessageId: string;
}

/** A server whose fake never reports (messages stay `sent`) and a campaign of `count` sent. */
async function sentCampaign(server: TestServer, count: number): Promise<SentMessage[]> {
  const call = client(server.url);
  const created = await call('POST', '/campaigns', {
    owner: a,
    body: { name: 'DLR', text: 'hello', recipients: phones(count) },
  });
  const id = created.body.id;
  await call('POST', `/campaigns/${id}/enqueue`, { owner: a });
  await waitFor(
    () => call('GET', `/campaigns/${id}`, { owner: a }),
    (r) => r.body.status === 'completed' && r.body.sent === count,
  );
  return (await call('GET', `/campaigns/${id}/messages`, { owner: a })).body.items;
}

describe('with the secret in the header only', () => {
  let server: TestServer;
  let call: ReturnType<typeof client>;
  let messages: SentMessage[];
  const statusOf = async (id: string) =>
    (await call('GET', `/messages/${id}`, { owner: a })).body.status;

  beforeAll(async () => {
    server = await startTestServer({ webhook: false });
    call = client(server.url);
    messages = await sentCampaign(server, 6);
  });
  afterAll(() => server?.close());

  const report = (m: SentMessage, deliveryStatus: string) => ({
    messageId: m.providerMessageId,
    reference: m.id,
    deliveryStatus,
    updatedAt: '2025-05-01T10:00:00Z',
  });

  it('answers 401 for a missing, wrong or query-string token, and applies nothing', async () => {
    const body = report(messages[0]!, 'Delivered');
    const missing = await call('POST', DLR, { body });
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('unauthorized');
    for (const token of ['wrong', `${WEBHOOK_SECRET}x`, WEBHOOK_SECRET.slice(0, -1), '']) {
      const wrong = await call('POST', DLR, { body, headers: { 'x-webhook-token': token } });
      expect(wrong.status).toBe(401);
    }
    const inQuery = await call('POST', `${DLR}?token=${WEBHOOK_SECRET}`, { body });
    expect(inQuery.status).toBe(401);
    const getInQuery = await call(
      'GET',
      `${DLR}?msgid=${messages[0]!.providerMessageId}&status=Delivered&token=${WEBHOOK_SECRET}`,
    );
    expect(getInQuery.status).toBe(401);
    expect(await statusOf(messages[0]!.id)).toBe('sent');
  });

  it('takes one JSON report, and a duplicate of it changes nothing', async () => {
    const body = report(messages[0]!, 'Delivered');
    const first = await call('POST', DLR, { body, headers: withToken });
    expect(first.status).toBe(202);
    expect(first.body).toEqual({
      received: 1,
      duplicates: 0,
      applied: 1,
      pending: 0,
      noNews: 0,
      unreadable: 0,
    });
    expect(await statusOf(messages[0]!.id)).toBe('delivered');

    const again = await call('POST', DLR, { body, headers: withToken });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ received: 0, duplicates: 1, applied: 0 });
  });

  it('takes an array of reports, some readable, some not', async () => {
    const response = await call('POST', DLR, {
      body: [
        report(messages[1]!, 'Delivered'),
        report(messages[2]!, 'Failed'),
        report(messages[3]!, 'Queued'),
        { hello: 'world' },
      ],
      headers: withToken,
    });
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ received: 2, applied: 2, noNews: 1, unreadable: 1 });
    expect(await statusOf(messages[1]!.id)).toBe('delivered');
    expect(await statusOf(messages[2]!.id)).toBe('failed');
    expect(await statusOf(messages[3]!.id)).toBe('sent');
  });

  it('takes a form-encoded report and a GET query-string report', async () => {
    const form = await call('POST', DLR, {
      rawBody: new URLSearchParams({
        msgid: messages[4]!.providerMessageId,
        status: 'Delivered',
      }).toString(),
      headers: { ...withToken, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(202);
    expect(form.body).toMatchObject({ received: 1, applied: 1 });
    expect(await statusOf(messages[4]!.id)).toBe('delivered');

    const get = await call(
      'GET',
      `${DLR}?msgid=${messages[5]!.providerMessageId}&status=Undelivered&description=absent`,
      { headers: withToken },
    );
    expect(get.status).toBe(202);
    expect(get.body).toMatchObject({ received: 1, applied: 1 });
    const failed = await call('GET', `/messages/${messages[5]!.id}`, { owner: a });
    expect(failed.body).toMatchObject({ status: 'failed', error: 'absent' });
  });

  it('answers 400 when nothing in the body is readable', async () => {
    const bodies: [string, string][] = [
      ['{"messageId": "1", ', 'application/json'],
      ['', 'application/json'],
      ['[]', 'application/json'],
      ['{"colour": "red"}', 'application/json'],
      ['[1, 2]', 'application/json'],
      ['just text', 'text/plain'],
    ];
    for (const [rawBody, type] of bodies) {
      const response = await call('POST', DLR, {
        rawBody,
        headers: { ...withToken, 'content-type': type },
      });
      expect(response.status, rawBody).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body).toMatchObject({
        type: 'https://smsbatch.dev/problems/unreadable-delivery-report',
        reasons: expect.arrayContaining([expect.any(String)]),
      });
    }
    const noQuery = await call('GET', DLR, { headers: withToken });
    expect(noQuery.status).toBe(400);
  });

  it('answers 413 for a body over the limit', async () => {
    const many = Array.from({ length: 2000 }, (_, i) => ({
      messageId: `m-${i}`,
      deliveryStatus: 'Delivered',
    }));
    const response = await call('POST', DLR, { body: many, headers: withToken });
    expect(response.status).toBe(413);
  });
});

describe('with the query-string secret enabled', () => {
  let server: TestServer;
  let call: ReturnType<typeof client>;

  beforeAll(async () => {
    server = await startTestServer({ webhook: false, router: { allowQuerySecret: true } });
    call = client(server.url);
  });
  afterAll(() => server?.close());

  it('accepts ?token= on GET and POST and keeps the secret out of the stored report', async () => {
    const [message] = await sentCampaign(server, 1);
    const get = await call(
      'GET',
      `${DLR}?msgid=${message!.providerMessageId}&status=Delivered&token=${WEBHOOK_SECRET}`,
    );
    expect(get.status).toBe(202);
    expect(get.body).toMatchObject({ received: 1, applied: 1 });

    // A report for a message not sent yet waits, stored with its raw form.
    const post = await call('POST', `${DLR}?token=${WEBHOOK_SECRET}`, {
      body: { messageId: 'not-yet-known', reference: 'cfuture-0', deliveryStatus: 'Delivered' },
    });
    expect(post.status).toBe(202);
    expect(post.body).toMatchObject({ received: 1, pending: 1 });
    const laterGet = await call(
      'GET',
      `${DLR}?msgid=also-unknown&status=Delivered&token=${WEBHOOK_SECRET}&reference=cfuture-1`,
    );
    expect(laterGet.body).toMatchObject({ received: 1, pending: 1 });
    const stored = await server.store.listPendingDeliveryEvents({
      references: ['cfuture-0', 'cfuture-1'],
      limit: 10,
    });
    expect(stored).toHaveLength(2);
    expect(stored.map((event) => event.raw)).toContainEqual({
      msgid: 'also-unknown',
      status: 'Delivered',
      reference: 'cfuture-1',
    });
    expect(JSON.stringify(stored)).not.toContain(WEBHOOK_SECRET);

    const wrong = await call('GET', `${DLR}?msgid=x&status=Delivered&token=nope`);
    expect(wrong.status).toBe(401);
  });
});
