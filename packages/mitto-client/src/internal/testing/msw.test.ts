import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMittoClient } from '../client.js';
import { isMittoConnectionError } from '../errors.js';
import { createMittoHandlers, createMswDispatcher } from './msw.js';

// The handlers are plain msw handlers: code that calls Mitto with fetch can use them directly.
describe('createMittoHandlers with setupServer', () => {
  const mitto = createMittoHandlers({
    apiKey: 'k',
    faults: { rejectDestinations: ['+306900000000'] },
  });
  const server = setupServer(...mitto);
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());

  const post = (body: unknown, key = 'k') =>
    fetch('https://messaging.mittoapi.com/api/v1.1/Messages/sendmessagesbulk', {
      method: 'POST',
      headers: { 'X-Mitto-API-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  const message = (destination: string) => ({
    trafficAccountId: 'ta-1',
    destination,
    sms: { text: 'Hi', sender: 'Shop' },
    reference: `ref-${destination}`,
  });

  it('accepts and rejects per item, in request order', async () => {
    const response = await post({
      messages: [message('+306912345678'), message('+306900000000'), message('12')],
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      bulkId: string;
      messages: Array<Record<string, unknown>>;
    };
    expect(body.bulkId).toMatch(/^fb-/);
    expect(body.messages).toEqual([
      { messageId: expect.any(String), trafficAccountId: 'ta-1' },
      { trafficAccountId: 'ta-1', error: 'Invalid destination' },
      { trafficAccountId: 'ta-1', error: 'Invalid destination' },
    ]);
    expect(mitto.accepted.map((m) => m.reference)).toEqual(['ref-+306912345678']);
  });

  it('answers 401 without the right key and 400 for a bad payload', async () => {
    expect((await post({ messages: [] }, 'nope')).status).toBe(401);
    expect((await post({ messages: [] })).status).toBe(400);
    expect((await post({ nothing: true })).status).toBe(400);
  });

  it('looks up what it accepted, and 404s the rest', async () => {
    const id = mitto.accepted[0]!.messageId;
    const found = await fetch(`https://messaging.mittoapi.com/api/v1.1/Messages/${id}`, {
      headers: { 'X-Mitto-API-Key': 'k' },
    });
    expect(await found.json()).toMatchObject({
      messageId: id,
      deliveryStatus: 'Sent',
      reference: 'ref-+306912345678',
    });
    const missing = await fetch('https://messaging.mittoapi.com/api/v1.1/Messages/none', {
      headers: { 'X-Mitto-API-Key': 'k' },
    });
    expect(missing.status).toBe(404);
  });
});

describe('createMswDispatcher', () => {
  it('fails a request no handler answers (not sent)', async () => {
    const client = createMittoClient({
      apiKey: 'k',
      baseUrl: 'https://elsewhere.example',
      dispatcher: createMswDispatcher(createMittoHandlers({ apiKey: 'k' })),
      maxRetries: 0,
    });
    const error = await client.lookup('m-1').catch((e: unknown) => e);
    expect(isMittoConnectionError(error)).toBe(true);
    expect((error as Error).message).toContain('no msw handler');
  });

  it('serves a base URL with a path prefix', async () => {
    const mitto = createMittoHandlers({ apiKey: 'k', baseUrl: 'https://proxy.example/mitto/' });
    const client = createMittoClient({
      apiKey: 'k',
      baseUrl: 'https://proxy.example/mitto/',
      dispatcher: createMswDispatcher(mitto),
    });
    const outcome = await client.sendOne({
      reference: 'r',
      destination: '+306912345678',
      text: 'x',
      sender: 'Shop',
      trafficAccountId: 't',
    });
    expect(outcome.status).toBe('accepted');
    expect(mitto.accepted).toHaveLength(1);
  });
});
