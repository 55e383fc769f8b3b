// Pause, resume, cancel, retry-failed and refresh-statuses through the routes, each on a server
// set up so the campaign is in the state the action needs.

import type { Metrics } from '@smsbatch/core';
import { afterEach, describe, expect, it } from 'vitest';
import { client, OWNERS, phones, startTestServer, type TestServer, waitFor } from '../helpers.js';

const { a, b } = OWNERS;
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const start = async (options: Parameters<typeof startTestServer>[0]) => {
  server = await startTestServer(options);
  return { server, call: client(server.url) };
};

async function createAndEnqueue(call: ReturnType<typeof client>, count: number) {
  const created = await call('POST', '/campaigns', {
    owner: a,
    body: { name: 'Weekend', text: 'Open late on Saturday', recipients: phones(count) },
  });
  const id = created.body.id as string;
  const enqueued = await call('POST', `/campaigns/${id}/enqueue`, { owner: a });
  expect(enqueued.status).toBe(202);
  return id;
}

describe('pause, resume and cancel', () => {
  it('move the campaign with 202, refuse the wrong state with 409, and return the credits', async () => {
    // No worker: the campaign stays `sending` until the test moves it.
    const { call } = await start({ work: false });
    const id = await createAndEnqueue(call, 4);
    const view = () => call('GET', `/campaigns/${id}`, { owner: a });
    expect((await view()).body).toMatchObject({ status: 'sending', creditsReserved: 4 });

    const paused = await call('POST', `/campaigns/${id}/pause`, { owner: a });
    expect(paused.status).toBe(202);
    expect(paused.body).toEqual({ id, status: 'paused', total: 4 });
    const pausedAgain = await call('POST', `/campaigns/${id}/pause`, { owner: a });
    expect(pausedAgain.status).toBe(409);
    expect(pausedAgain.body.code).toBe('conflict');

    const foreign = await call('POST', `/campaigns/${id}/resume`, { owner: b });
    expect(foreign.status).toBe(404);
    expect((await view()).body.status).toBe('paused');

    const resumed = await call('POST', `/campaigns/${id}/resume`, { owner: a });
    expect(resumed.status).toBe(202);
    expect(resumed.body).toEqual({ id, status: 'sending', total: 4 });
    expect((await call('POST', `/campaigns/${id}/resume`, { owner: a })).status).toBe(409);

    const balanceBefore = (await call('GET', '/balance', { owner: a })).body;
    expect(balanceBefore.reserved).toBe(4);
    const cancelled = await call('POST', `/campaigns/${id}/cancel`, { owner: a });
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toEqual({ id, status: 'cancelled', total: 4 });
    expect((await view()).body).toMatchObject({
      status: 'cancelled',
      queued: 0,
      cancelled: 4,
      creditsReserved: 0,
      creditsDebited: 0,
    });
    expect((await call('GET', '/balance', { owner: a })).body).toEqual({
      balance: balanceBefore.balance,
      reserved: 0,
      available: balanceBefore.balance,
    });
    expect((await call('POST', `/campaigns/${id}/cancel`, { owner: a })).status).toBe(409);
  });
});

describe('retry-failed', () => {
  it('requeues messages that failed for a transient reason and sends them', async () => {
    // One attempt per message and no client retries: one 503 fails the whole batch, retryably.
    const { server, call } = await start({ maxRetries: 0, pipeline: { maxSendAttempts: 1 } });
    server.fake.failNext({ type: 'server-error', status: 503 });
    const id = await createAndEnqueue(call, 3);
    const view = () => call('GET', `/campaigns/${id}`, { owner: a });
    const failed = await waitFor(view, (r) => r.body.status === 'failed');
    expect(failed.body).toMatchObject({ failed: 3, creditsDebited: 0, creditsReserved: 0 });

    const retried = await call('POST', `/campaigns/${id}/retry-failed`, { owner: a });
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual({ id, requeued: 3 });
    const done = await waitFor(
      view,
      (r) => r.body.status === 'completed' && r.body.delivered === 3,
    );
    expect(done.body).toMatchObject({ failed: 0, creditsDebited: 3 });

    // Nothing left to retry; and a campaign still sending cannot be retried.
    expect((await call('POST', `/campaigns/${id}/retry-failed`, { owner: a })).body).toEqual({
      id,
      requeued: 0,
    });
    expect((await call('POST', `/campaigns/${id}/retry-failed`, { owner: b })).status).toBe(404);
  });

  it('answers 409 while the campaign is still sending', async () => {
    const { call } = await start({ work: false });
    const id = await createAndEnqueue(call, 1);
    const response = await call('POST', `/campaigns/${id}/retry-failed`, { owner: a });
    expect(response.status).toBe(409);
  });
});

describe('refresh-statuses', () => {
  it('answers 202 at once and looks the sent messages up after', async () => {
    // Delivery happens at the fake but is never reported: only a lookup can see it.
    const { call } = await start({ webhook: false, fake: { deliveryReports: { delayMs: 1 } } });
    const id = await createAndEnqueue(call, 3);
    const view = () => call('GET', `/campaigns/${id}`, { owner: a });
    await waitFor(view, (r) => r.body.status === 'completed');
    expect((await view()).body).toMatchObject({ sent: 3, delivered: 0 });

    const response = await call('POST', `/campaigns/${id}/refresh-statuses`, { owner: a });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id });
    const refreshed = await waitFor(view, (r) => r.body.delivered === 3);
    expect(refreshed.body.sent).toBe(0);
  });
});

describe('metrics', () => {
  it('records request durations by route pattern and webhook outcomes', async () => {
    const observed: { name: string; labels: Record<string, string> | undefined }[] = [];
    const counted = new Map<string, number>();
    const metrics: Metrics = {
      increment: (name, value = 1, labels) => {
        const key = `${name}${JSON.stringify(labels ?? {})}`;
        counted.set(key, (counted.get(key) ?? 0) + value);
      },
      observe: (name, _value, labels) => observed.push({ name, labels }),
      gauge: () => {},
    };
    const { call } = await start({ metrics });
    const id = await createAndEnqueue(call, 2);
    await waitFor(
      () => call('GET', `/campaigns/${id}`, { owner: a }),
      (r) => r.body.delivered === 2,
    );
    expect(observed).toContainEqual({
      name: 'smsbatch_http_request_duration_ms',
      labels: { method: 'GET', route: '/campaigns/:id', status: '200' },
    });
    expect(observed).toContainEqual({
      name: 'smsbatch_http_request_duration_ms',
      labels: { method: 'POST', route: '/webhooks/mitto/dlr', status: '202' },
    });
    expect(counted.get('smsbatch_webhook_events_total{"outcome":"event"}')).toBeGreaterThanOrEqual(
      2,
    );
  });
});
