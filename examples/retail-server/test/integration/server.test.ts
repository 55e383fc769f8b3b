// The example server over a real socket with its embedded defaults: admin auth, shops isolated
// by their API keys, subscriptions and opt-outs reaching the pipeline, the status page files,
// /healthz and /metrics.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetailServer } from '../../src/app.js';
import { ADMIN_TOKEN, createOwner, phones, request, startTestServer, waitFor } from '../helpers.js';

let server: RetailServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const sendCampaign = async (apiKey: string, recipients: { phone: string }[]) => {
  const created = await request(`${server.url}/campaigns`, 'POST', {
    token: apiKey,
    body: { name: 'Sale', text: 'Sale starts now', recipients },
  });
  expect(created.status).toBe(201);
  const enqueued = await request(`${server.url}/campaigns/${created.body.id}/enqueue`, 'POST', {
    token: apiKey,
  });
  return { id: created.body.id as string, enqueued };
};

const campaign = (apiKey: string, id: string) =>
  request(`${server.url}/campaigns/${id}`, 'GET', { token: apiKey });

describe('admin routes', () => {
  it('refuse a missing or wrong admin token with a 401 problem', async () => {
    for (const token of [undefined, 'wrong', `${ADMIN_TOKEN}x`]) {
      const answer = await request(`${server.url}/admin/owners`, 'POST', {
        ...(token === undefined ? {} : { token }),
        body: { name: 'x', credits: 1 },
      });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(answer.body.code).toBe('unauthorized');
    }
    // An owner's API key is not an admin token.
    const { apiKey, ownerId } = await createOwner(server);
    const asOwner = await request(`${server.url}/admin/owners/${ownerId}/credits`, 'POST', {
      token: apiKey,
      body: { amount: 5 },
    });
    expect(asOwner.status).toBe(401);
  });

  it('create an owner with opening credits and an API key that works', async () => {
    const answer = await request(`${server.url}/admin/owners`, 'POST', {
      token: ADMIN_TOKEN,
      body: { name: 'Bakery', credits: 250, sender: 'Bakery', trafficAccountId: 'ta-bakery' },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ ownerId: expect.any(String), apiKey: expect.any(String) });
    expect(answer.body.apiKey.startsWith(`${answer.body.ownerId}.`)).toBe(true);
    const balance = await request(`${server.url}/balance`, 'GET', { token: answer.body.apiKey });
    expect(balance.body).toEqual({ balance: 250, reserved: 0, available: 250 });
  });

  it('refuse bad bodies with 400 and unknown owners with 404', async () => {
    const bad = await request(`${server.url}/admin/owners`, 'POST', {
      token: ADMIN_TOKEN,
      body: { name: '', credits: -1, sender: 'this sender is far too long', colour: 'red' },
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.issues.map((issue: { path: unknown[] }) => issue.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['name', 'credits', 'sender', '']));

    const malformed = await fetch(`${server.url}/admin/owners`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).code).toBe('malformed-json');

    const missing = await request(`${server.url}/admin/owners/shop_nope/credits`, 'POST', {
      token: ADMIN_TOKEN,
      body: { amount: 5 },
    });
    expect(missing.status).toBe(404);
  });

  it('top up credits through the ledger, once per Idempotency-Key', async () => {
    const { ownerId, apiKey } = await createOwner(server, { credits: 10 });
    const topUp = () =>
      request(`${server.url}/admin/owners/${ownerId}/credits`, 'POST', {
        token: ADMIN_TOKEN,
        body: { amount: 40 },
        headers: { 'idempotency-key': 'invoice-17' },
      });
    const first = await topUp();
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ownerId, balance: 50, reserved: 0, available: 50 });
    expect((await topUp()).body.balance).toBe(50);
    const zero = await request(`${server.url}/admin/owners/${ownerId}/credits`, 'POST', {
      token: ADMIN_TOKEN,
      body: { amount: 0 },
    });
    expect(zero.status).toBe(400);
    expect((await request(`${server.url}/balance`, 'GET', { token: apiKey })).body.balance).toBe(
      50,
    );
  });
});

describe('shops through the real server', () => {
  it("see only their own campaigns; another shop's is a 404", async () => {
    const a = await createOwner(server, { name: 'A' });
    const b = await createOwner(server, { name: 'B' });
    const { id } = await sendCampaign(a.apiKey, phones(3));

    expect((await campaign(a.apiKey, id)).status).toBe(200);
    const foreign = await campaign(b.apiKey, id);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('not-found');
    for (const action of ['enqueue', 'pause', 'cancel', 'retry-failed']) {
      const answer = await request(`${server.url}/campaigns/${id}/${action}`, 'POST', {
        token: b.apiKey,
      });
      expect(answer.status).toBe(404);
    }
    const listOfB = await request(`${server.url}/campaigns`, 'GET', { token: b.apiKey });
    expect(listOfB.body.items).toEqual([]);

    // A's owner id with another secret, or B's secret on A's id, is nobody.
    const secretOfB = b.apiKey.slice(b.apiKey.indexOf('.') + 1);
    for (const key of [`${a.ownerId}.${secretOfB}`, `${a.ownerId}.`, a.ownerId, 'garbage']) {
      expect((await campaign(key, id)).status).toBe(401);
    }
  });

  it('get a 403 on enqueue while their subscription is off', async () => {
    const shop = await createOwner(server);
    const off = await request(`${server.url}/admin/owners/${shop.ownerId}/subscription`, 'POST', {
      token: ADMIN_TOKEN,
      body: { active: false },
    });
    expect(off.status).toBe(200);
    const { id, enqueued } = await sendCampaign(shop.apiKey, phones(2));
    expect(enqueued.status).toBe(403);
    expect(enqueued.body.code).toBe('subscription-inactive');

    await request(`${server.url}/admin/owners/${shop.ownerId}/subscription`, 'POST', {
      token: ADMIN_TOKEN,
      body: { active: true },
    });
    const again = await request(`${server.url}/campaigns/${id}/enqueue`, 'POST', {
      token: shop.apiKey,
    });
    expect(again.status).toBe(202);
  });

  it('do not text phones that opted out', async () => {
    const shop = await createOwner(server);
    const recipients = phones(4, 500);
    const suppressed = await request(
      `${server.url}/admin/owners/${shop.ownerId}/suppressions`,
      'POST',
      { token: ADMIN_TOKEN, body: { phones: [recipients[1]!.phone, recipients[3]!.phone] } },
    );
    expect(suppressed.status).toBe(200);
    expect(suppressed.body.added).toBe(2);
    const invalid = await request(
      `${server.url}/admin/owners/${shop.ownerId}/suppressions`,
      'POST',
      {
        token: ADMIN_TOKEN,
        body: { phones: ['12'] },
      },
    );
    expect(invalid.status).toBe(400);
    expect(invalid.body.issues[0].path).toEqual(['phones', 0]);

    const { id } = await sendCampaign(shop.apiKey, recipients);
    const done = await waitFor(
      () => campaign(shop.apiKey, id),
      (answer) => answer.body.status === 'completed',
    );
    expect(done.body).toMatchObject({ total: 4, skipped: 2, creditsDebited: 2 });
    expect(done.body.sent + done.body.delivered).toBe(2);
  });
});

describe('operations endpoints', () => {
  it('serve Prometheus text with message, webhook, queue and HTTP metrics', async () => {
    const shop = await createOwner(server);
    const { id } = await sendCampaign(shop.apiKey, phones(5, 900));
    await waitFor(
      () => campaign(shop.apiKey, id),
      (answer) => answer.body.delivered === 5,
    );
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    const value = (pattern: RegExp) => Number(text.match(pattern)?.[1] ?? Number.NaN);
    expect(
      value(/^smsbatch_messages_total\{status="sent",via="send"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(5);
    expect(
      value(/^smsbatch_messages_total\{status="delivered",via="report"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(5);
    expect(
      value(/^smsbatch_webhook_events_total\{outcome="event"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(5);
    expect(
      value(/^smsbatch_queue_jobs_completed_total\{kind="batch"\} (\d+)/m),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^smsbatch_batch_duration_ms_count \d+/m);
    expect(text).toMatch(/^smsbatch_queue_depth_messages\{status="queued"\} \d+/m);
    expect(text).toMatch(
      /^smsbatch_http_request_duration_ms_count\{method="POST",route="\/campaigns\/:id\/enqueue",status="202"\} \d+/m,
    );
    expect(text).toMatch(
      /^smsbatch_http_request_duration_ms_count\{method="POST",route="\/admin\/owners",status="201"\} \d+/m,
    );
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });

  it('answer /healthz, serve the status page, and 404 unknown routes as problems', async () => {
    const health = await request(`${server.url}/healthz`, 'GET');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', role: 'all', adapters: { store: 'memory' } });

    const page = await fetch(`${server.url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/status.js">');
    const script = await fetch(`${server.url}/status.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);

    const unknown = await request(`${server.url}/nope`, 'GET');
    expect(unknown.status).toBe(404);
    expect(unknown.body.type).toBe('https://smsbatch.dev/problems/not-found');
  });
});
