// The campaign, message and balance routes over a real socket: a real pipeline sends through
// the fake Mitto, which reports deliveries back through the webhook route.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  client,
  OWNERS,
  type Owner,
  phones,
  startTestServer,
  type TestServer,
  waitFor,
} from '../helpers.js';

let server: TestServer;
let call: ReturnType<typeof client>;
const { a, b, poor } = OWNERS;

beforeAll(async () => {
  server = await startTestServer();
  call = client(server.url);
});
afterAll(() => server?.close());

const createCampaign = async (owner: Owner = a, count = 3, extra: Record<string, unknown> = {}) => {
  const response = await call('POST', '/campaigns', {
    owner,
    body: {
      name: 'Spring sale',
      text: 'Hi {{name}}, 20% off today',
      recipients: withNames(count),
      ...extra,
    },
  });
  expect(response.status).toBe(201);
  return response.body.id as string;
};
const withNames = (count: number) => phones(count).map((r) => ({ ...r, vars: { name: 'Ann' } }));
const campaignOf = (id: string, owner: Owner = a) => call('GET', `/campaigns/${id}`, { owner });
const isSettled = (r: { body: { status: string } }) =>
  ['completed', 'failed', 'cancelled'].includes(r.body.status);

const expectProblem = (
  response: { status: number; headers: Headers; body: Record<string, unknown> },
  status: number,
  slug: string,
) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({
    type: `https://smsbatch.dev/problems/${slug}`,
    code: slug,
    status,
    title: expect.any(String),
    detail: expect.any(String),
  });
};

describe('POST /campaigns', () => {
  it('stores a draft and answers 201 with its id, status and total', async () => {
    const response = await call('POST', '/campaigns', {
      owner: a,
      body: { name: 'Launch', text: 'New arrivals in store', recipients: phones(4) },
    });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ id: expect.any(String), status: 'draft', total: 4 });
    expect(response.headers.get('location')).toBe(`/campaigns/${response.body.id}`);
    const stored = await campaignOf(response.body.id);
    expect(stored.body).toMatchObject({ status: 'draft', total: 4, queued: 0, creditsReserved: 0 });
  });

  it('answers 400 with the zod issues when the body has the wrong shape', async () => {
    const response = await call('POST', '/campaigns', {
      owner: a,
      body: { name: 'x', text: 5, recipients: [{ phone: '+306971234567', colour: 'red' }] },
    });
    expectProblem(response, 400, 'validation');
    const paths = response.body.issues.map((issue: { path: unknown[] }) => issue.path);
    expect(paths).toContainEqual(['text']);
    expect(paths).toContainEqual(['recipients', 0]);
    expect(response.body.issues[0]).toHaveProperty('code');
  });

  it('answers 400 for an empty audience and for fields core refuses', async () => {
    const empty = await call('POST', '/campaigns', {
      owner: a,
      body: { name: 'x', text: 'hello', recipients: [] },
    });
    expectProblem(empty, 400, 'validation');
    expect(empty.body.issues[0].path).toEqual(['recipients']);

    const blankName = await call('POST', '/campaigns', {
      owner: a,
      body: { name: '   ', text: 'hello', recipients: phones(1) },
    });
    expectProblem(blankName, 400, 'validation');
    expect(blankName.body.issues.map((i: { path: unknown[] }) => i.path)).toContainEqual(['name']);
  });

  it('answers 400 for malformed JSON, 415 for another media type, 413 over the limit', async () => {
    const malformed = await call('POST', '/campaigns', {
      owner: a,
      rawBody: '{"name": "x",',
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(malformed, 400, 'malformed-json');

    const text = await call('POST', '/campaigns', {
      owner: a,
      rawBody: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expectProblem(text, 415, 'unsupported-media-type');

    // The test server's limit is 64 kB.
    const huge = await call('POST', '/campaigns', {
      owner: a,
      body: { name: 'big', text: 'x', recipients: phones(3000) },
    });
    expectProblem(huge, 413, 'payload-too-large');
  });
});

describe('authentication and isolation', () => {
  let campaignOfA: string;
  let messageOfA: string;

  beforeAll(async () => {
    campaignOfA = await createCampaign(a, 2);
    await call('POST', `/campaigns/${campaignOfA}/enqueue`, { owner: a });
    await waitFor(() => campaignOf(campaignOfA), isSettled);
    const messages = await call('GET', `/campaigns/${campaignOfA}/messages`, { owner: a });
    messageOfA = messages.body.items[0].id;
  });

  const ownerRoutes = (id: string, messageId: string): [string, string][] => [
    ['POST', '/campaigns'],
    ['GET', '/campaigns'],
    ['GET', `/campaigns/${id}`],
    ['POST', `/campaigns/${id}/enqueue`],
    ['GET', `/campaigns/${id}/messages`],
    ['GET', `/campaigns/${id}/batches`],
    ['POST', `/campaigns/${id}/pause`],
    ['POST', `/campaigns/${id}/resume`],
    ['POST', `/campaigns/${id}/cancel`],
    ['POST', `/campaigns/${id}/refresh-statuses`],
    ['POST', `/campaigns/${id}/retry-failed`],
    ['POST', '/messages/test'],
    ['GET', `/messages/${messageId}`],
    ['GET', '/balance'],
  ];

  it('answers 401 on every owner route without a valid API key', async () => {
    for (const [method, path] of ownerRoutes(campaignOfA, messageOfA)) {
      const missing = await call(method, path, { body: method === 'POST' ? {} : undefined });
      expectProblem(missing, 401, 'unauthorized');
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const wrong = await call(method, path, { headers: { authorization: 'Bearer nope' } });
      expectProblem(wrong, 401, 'unauthorized');
    }
  });

  it("answers 404 for another owner's campaign and message, exactly as for a missing one", async () => {
    for (const [method, path] of ownerRoutes(campaignOfA, messageOfA)) {
      if (!path.includes(campaignOfA) && !path.includes(messageOfA)) continue;
      const foreign = await call(method, path, { owner: b });
      expectProblem(foreign, 404, 'not-found');
      // Message ids start with their campaign's id: swap the longer one first.
      const missingPath = path
        .replace(messageOfA, 'cnosuchcampaign-0')
        .replace(campaignOfA, 'cnosuchcampaign');
      const missing = await call(method, missingPath, { owner: b });
      expectProblem(missing, 404, 'not-found');
      expect(foreign.body.detail.replace(messageOfA, '?').replace(campaignOfA, '?')).toBe(
        missing.body.detail.replace('cnosuchcampaign-0', '?').replace('cnosuchcampaign', '?'),
      );
    }
    // And nothing of A's shows up in B's list.
    const listOfB = await call('GET', '/campaigns', { owner: b });
    expect(listOfB.body.items.map((c: { id: string }) => c.id)).not.toContain(campaignOfA);
    // A still sees it, untouched by B's attempts.
    expect((await campaignOf(campaignOfA)).body.status).toBe('completed');
  });

  it('answers an unknown route with a 404 problem', async () => {
    expectProblem(await call('GET', '/nothing-here', { owner: a }), 404, 'not-found');
    expectProblem(
      await call('DELETE', `/campaigns/${campaignOfA}`, { owner: a }),
      404,
      'not-found',
    );
  });
});

describe('a campaign end to end', () => {
  it('enqueues (202), sends, settles, and takes delivery reports through the webhook', async () => {
    const before = (await call('GET', '/balance', { owner: a })).body;
    const id = await createCampaign(a, 5);
    const enqueued = await call('POST', `/campaigns/${id}/enqueue`, { owner: a });
    expect(enqueued.status).toBe(202);
    expect(enqueued.body).toEqual({ id, status: 'sending', total: 5 });

    const done = await waitFor(
      () => campaignOf(id),
      (r) => r.body.status === 'completed' && r.body.delivered === 5,
    );
    expect(done.body).toMatchObject({
      id,
      name: 'Spring sale',
      total: 5,
      queued: 0,
      sending: 0,
      sent: 0,
      delivered: 5,
      failed: 0,
      unknown: 0,
      skipped: 0,
      cancelled: 0,
      creditsReserved: 0,
      creditsDebited: 5,
    });
    for (const field of ['startedAt', 'finishedAt', 'createdAt']) {
      expect(new Date(done.body[field]).toISOString()).toBe(done.body[field]);
    }
    const after = (await call('GET', '/balance', { owner: a })).body;
    expect(after).toEqual({
      balance: before.balance - 5,
      reserved: 0,
      available: before.available - 5,
    });

    const again = await call('POST', `/campaigns/${id}/enqueue`, { owner: a });
    expectProblem(again, 409, 'conflict');
  });

  it('pages through messages by status and lists batches', async () => {
    const id = await createCampaign(a, 5);
    await call('POST', `/campaigns/${id}/enqueue`, { owner: a });
    await waitFor(
      () => campaignOf(id),
      (r) => r.body.delivered === 5,
    );

    const first = await call('GET', `/campaigns/${id}/messages?status=delivered&limit=3`, {
      owner: a,
    });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(3);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const message = first.body.items[0];
    expect(message).toMatchObject({
      campaignId: id,
      status: 'delivered',
      text: 'Hi Ann, 20% off today',
      providerMessageId: expect.any(String),
      bulkId: expect.any(String),
    });
    expect(message).not.toHaveProperty('ownerId');
    expect(message).not.toHaveProperty('attemptId');
    expect(new Date(message.deliveredAt).toISOString()).toBe(message.deliveredAt);

    const second = await call(
      'GET',
      `/campaigns/${id}/messages?status=delivered&limit=3&cursor=${encodeURIComponent(first.body.nextCursor)}`,
      { owner: a },
    );
    expect(second.body.items).toHaveLength(2);
    expect(second.body.nextCursor).toBeNull();
    const ids = [...first.body.items, ...second.body.items].map((m: { id: string }) => m.id);
    expect(new Set(ids).size).toBe(5);

    const none = await call('GET', `/campaigns/${id}/messages?status=failed`, { owner: a });
    expect(none.body).toEqual({ items: [], nextCursor: null });

    const byId = await call('GET', `/messages/${message.id}`, { owner: a });
    expect(byId.body).toEqual(message);

    const batches = await call('GET', `/campaigns/${id}/batches`, { owner: a });
    expect(batches.status).toBe(200);
    expect(batches.body.items).toEqual([
      expect.objectContaining({
        batchNo: 0,
        size: 5,
        status: 'completed',
        bulkId: message.bulkId,
        attempts: 1,
        lastError: null,
        delivered: 5,
        failed: 0,
      }),
    ]);
  });

  it('refuses bad query strings with 400', async () => {
    const id = await createCampaign(a, 1);
    for (const query of ['status=lost', 'limit=0', 'limit=abc', 'limit=1&limit=2', 'colour=red']) {
      const response = await call('GET', `/campaigns/${id}/messages?${query}`, { owner: a });
      expectProblem(response, 400, 'validation');
    }
    expectProblem(await call('GET', '/campaigns?limit=101', { owner: a }), 400, 'validation');
  });

  it('lists the owner campaigns newest first with their progress', async () => {
    const id = await createCampaign(a, 2);
    const list = await call('GET', '/campaigns?limit=1', { owner: a });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id, status: 'draft', total: 2, queued: 0, creditsReserved: 0 }),
    ]);
    expect(list.body.nextCursor).toEqual(expect.any(String));
  });
});

describe('enqueue refusals', () => {
  it('answers 402 when the owner cannot pay, with what is required and available', async () => {
    const id = await createCampaign(poor, 3);
    const response = await call('POST', `/campaigns/${id}/enqueue`, { owner: poor });
    expectProblem(response, 402, 'insufficient-credits');
    expect(response.body).toMatchObject({ required: 3, available: 0 });
    expect((await campaignOf(id, poor)).body.status).toBe('draft');
  });

  it('answers 403 when the subscription is inactive', async () => {
    const id = await createCampaign(b, 1);
    server.subscription.setActive(b.id, false, 'plan expired');
    try {
      const response = await call('POST', `/campaigns/${id}/enqueue`, { owner: b });
      expectProblem(response, 403, 'subscription-inactive');
      expect(response.body.detail).toContain('plan expired');
    } finally {
      server.subscription.setActive(b.id, true);
    }
  });

  it('schedules with an ISO time and refuses a time without a zone', async () => {
    const id = await createCampaign(a, 1);
    const bad = await call('POST', `/campaigns/${id}/enqueue`, {
      owner: a,
      body: { scheduledAt: '2999-01-01T10:00:00' },
    });
    expectProblem(bad, 400, 'validation');
    expect(bad.body.issues[0].path).toEqual(['scheduledAt']);

    const scheduledAt = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await call('POST', `/campaigns/${id}/enqueue`, {
      owner: a,
      body: { scheduledAt },
    });
    expect(scheduled.status).toBe(202);
    expect(scheduled.body).toEqual({ id, status: 'scheduled', total: 1 });
    const view = await campaignOf(id);
    expect(view.body).toMatchObject({ status: 'scheduled', scheduledAt, creditsReserved: 1 });

    const cancelled = await call('POST', `/campaigns/${id}/cancel`, { owner: a });
    expect(cancelled.status).toBe(202);
    expect((await campaignOf(id)).body).toMatchObject({ status: 'cancelled', creditsReserved: 0 });
  });
});

describe('test messages', () => {
  it('answers 202 with an id, sends it, and shows it only to its owner', async () => {
    const response = await call('POST', '/messages/test', {
      owner: a,
      body: { to: '+306971111111', text: 'Test from the shop' },
    });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: expect.any(String) });
    const sent = await waitFor(
      () => call('GET', `/messages/${response.body.id}`, { owner: a }),
      (r) => r.body.status === 'delivered',
    );
    expect(sent.body).toMatchObject({
      kind: 'test',
      campaignId: null,
      phone: '+306971111111',
      text: 'Test from the shop',
    });
    expectProblem(
      await call('GET', `/messages/${response.body.id}`, { owner: b }),
      404,
      'not-found',
    );
  });

  it('answers 400 for a missing field and for a phone core cannot read', async () => {
    const missing = await call('POST', '/messages/test', { owner: a, body: { text: 'x' } });
    expectProblem(missing, 400, 'validation');
    expect(missing.body.issues[0].path).toEqual(['to']);

    const invalid = await call('POST', '/messages/test', {
      owner: a,
      body: { to: '12', text: 'x' },
    });
    expectProblem(invalid, 400, 'validation');
    expect(invalid.body.issues[0].path).toEqual(['to']);
  });
});
