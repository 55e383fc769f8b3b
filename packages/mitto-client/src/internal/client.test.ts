import { inspect } from 'node:util';
import type { Logger, OutboundSms } from '@smsbatch/core';
import { delay, HttpResponse, http, type JsonBodyType, type RequestHandler } from 'msw';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { connectionRefusedError, createMittoHandlers, createMswDispatcher } from '../testing.js';
import { createMittoClient, type MittoClient } from './client.js';
import {
  isMittoAbortError,
  isMittoAmbiguousError,
  isMittoAuthenticationError,
  isMittoConnectionError,
  isMittoHttpError,
  isMittoInvalidResponseError,
  isMittoRateLimitError,
  isMittoServerError,
  isMittoValidationError,
  MittoAmbiguousError,
  type MittoError,
  MittoValidationError,
} from './errors.js';
import type { MittoClientOptions } from './options.js';

const BASE = 'https://messaging.mittoapi.com';
const BULK = `${BASE}/api/v1.1/Messages/sendmessagesbulk`;
const SEND = `${BASE}/api/v1.1/Messages/send`;
const LOOKUP = `${BASE}/api/v1.1/Messages/:id`;
const API_KEY = 'test-api-key';

function sms(i: number, overrides: Partial<OutboundSms> = {}): OutboundSms {
  return {
    reference: `c1-${i}`,
    destination: `+30691234${String(1000 + i)}`,
    text: `Hello ${i}`,
    sender: 'Shop',
    trafficAccountId: 'ta-1',
    ...overrides,
  };
}

const batch = (n: number): OutboundSms[] => Array.from({ length: n }, (_, i) => sms(i));

interface LogLine {
  level: string;
  object: Record<string, unknown>;
  message: string | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at =
    (level: string) =>
    (object: Record<string, unknown>, message?: string): void => {
      lines.push({ level, object, message });
    };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

/** A client talking to msw: `custom` handlers first, then the Mitto-like ones. */
function setup(
  custom: RequestHandler[] = [],
  options: Partial<MittoClientOptions> = {},
): { client: MittoClient; mitto: ReturnType<typeof createMittoHandlers>; logs: LogLine[] } {
  const mitto = createMittoHandlers({ apiKey: API_KEY });
  const logs: LogLine[] = [];
  const client = createMittoClient({
    apiKey: API_KEY,
    dispatcher: createMswDispatcher([...custom, ...mitto]),
    logger: recordingLogger(logs),
    backoff: { initialDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
  return { client, mitto, logs };
}

/** An msw resolver that answers from a list, one entry per request, and counts requests. */
function sequence(...answers: Array<() => Response | Promise<Response>>) {
  const state = { calls: 0, bodies: [] as unknown[] };
  const resolver = async ({ request }: { request: Request }) => {
    const text = await request.text();
    state.bodies.push(text ? JSON.parse(text) : null);
    const answer = answers[Math.min(state.calls, answers.length - 1)]!;
    state.calls++;
    return answer();
  };
  return { state, resolver };
}

const ok = (body: JsonBodyType, init?: ResponseInit) => () => HttpResponse.json(body, init);
const status =
  (code: number, body: JsonBodyType = { error: 'x' }, headers?: Record<string, string>) =>
  () =>
    HttpResponse.json(body, { status: code, ...(headers ? { headers } : {}) });

async function failure(promise: Promise<unknown>): Promise<MittoError> {
  try {
    await promise;
  } catch (error) {
    return error as MittoError;
  }
  throw new Error('expected the call to fail');
}

describe('sendBulk', () => {
  it('matches results by position and returns the bulkId', async () => {
    const { client, mitto } = setup();
    const result = await client.sendBulk(batch(3));
    expect(result.bulkId).toMatch(/^fb-/);
    expect(result.results).toHaveLength(3);
    result.results.forEach((outcome, i) => {
      expect(outcome).toEqual({
        status: 'accepted',
        providerMessageId: mitto.accepted[i]!.messageId,
      });
      expect(mitto.accepted[i]!.reference).toBe(`c1-${i}`);
      expect(mitto.accepted[i]!.destination).toBe(sms(i).destination);
    });
  });

  it('sends the wire shape of mitto-api.md, reference included by default', async () => {
    const { state, resolver } = sequence(ok({ bulkId: 'b', messages: [{ messageId: 'm1' }] }));
    const { client } = setup([http.post(BULK, resolver)]);
    await client.sendBulk([sms(0)]);
    expect(state.bodies[0]).toEqual({
      messages: [
        {
          trafficAccountId: 'ta-1',
          destination: sms(0).destination,
          sms: { text: 'Hello 0', sender: 'Shop' },
          reference: 'c1-0',
        },
      ],
    });
  });

  it('leaves the unconfirmed reference out when sendReference is false', async () => {
    const { state, resolver } = sequence(ok({ bulkId: 'b', messages: [{ messageId: 'm1' }] }));
    const { client } = setup([http.post(BULK, resolver)], { sendReference: false });
    await client.sendBulk([sms(0, { reference: '' })]);
    expect((state.bodies[0] as { messages: object[] }).messages[0]).not.toHaveProperty('reference');
  });

  it('sends the API key header and JSON content type', async () => {
    let seen: Headers | null = null;
    const { client } = setup([
      http.post(BULK, ({ request }) => {
        seen = request.headers;
        return HttpResponse.json({ messages: [{ messageId: 'm' }] });
      }),
    ]);
    await client.sendBulk([sms(0)]);
    expect(seen!.get('x-mitto-api-key')).toBe(API_KEY);
    expect(seen!.get('content-type')).toBe('application/json');
  });

  it('reports an item without messageId as rejected, reading error, description and errors', async () => {
    const { client } = setup([
      http.post(BULK, () =>
        HttpResponse.json({
          bulkId: 'b-1',
          messages: [
            { messageId: 'm-0', trafficAccountId: 'ta-1' },
            { trafficAccountId: 'ta-1', error: 'Invalid destination' },
            { trafficAccountId: 'ta-1', description: 'Sender not allowed' },
            { trafficAccountId: 'ta-1', errors: ['Text too long', { message: 'Blocked word' }] },
            { trafficAccountId: 'ta-1', errors: { destination: ['Unroutable'] } },
            { trafficAccountId: 'ta-1', messageId: null, error: 'Temporary failure, try again' },
            { trafficAccountId: 'ta-1' },
          ],
        }),
      ),
    ]);
    const { bulkId, results } = await client.sendBulk(batch(7));
    expect(bulkId).toBe('b-1');
    expect(results).toEqual([
      { status: 'accepted', providerMessageId: 'm-0' },
      { status: 'rejected', reason: 'Invalid destination', isRetryable: false },
      { status: 'rejected', reason: 'Sender not allowed', isRetryable: false },
      { status: 'rejected', reason: 'Text too long; Blocked word', isRetryable: false },
      { status: 'rejected', reason: 'destination: Unroutable', isRetryable: false },
      { status: 'rejected', reason: 'Temporary failure, try again', isRetryable: true },
      { status: 'rejected', reason: 'rejected by Mitto (no reason given)', isRetryable: false },
    ]);
  });

  it('turns a length mismatch into the ambiguous error, never a partial success, and does not retry', async () => {
    const { state, resolver } = sequence(
      ok({ bulkId: 'b', messages: [{ messageId: 'm-0' }, { messageId: 'm-1' }] }),
    );
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 3 });
    const error = await failure(client.sendBulk(batch(3)));
    expect(error).toBeInstanceOf(MittoAmbiguousError);
    expect(error).toMatchObject({
      reason: 'length_mismatch',
      sendState: 'maybe-sent',
      status: 200,
    });
    expect(error.isRetryable).toBe(false);
    expect(state.calls).toBe(1);
  });

  it.each([
    ['not JSON', () => new HttpResponse('<html>oops</html>', { status: 200 })],
    ['an empty body', () => new HttpResponse(null, { status: 200 })],
    ['JSON without messages', () => HttpResponse.json({ bulkId: 'b' })],
    ['messages that are not objects', () => HttpResponse.json({ messages: ['m-1'] })],
    ['an empty messageId', () => HttpResponse.json({ messages: [{ messageId: '' }] })],
    ['a numeric messageId', () => HttpResponse.json({ messages: [{ messageId: 7 }] })],
  ])('treats a 2xx with %s as ambiguous (maybe sent) and does not retry', async (_, answer) => {
    const { state, resolver } = sequence(answer);
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 3 });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoAmbiguousError(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'unreadable_response', sendState: 'maybe-sent' });
    expect(state.calls).toBe(1);
  });

  it('answers an empty batch without a request', async () => {
    const { client, mitto } = setup();
    await expect(client.sendBulk([])).resolves.toEqual({ bulkId: null, results: [] });
    expect(mitto.stats().requests).toBe(0);
  });
});

describe('validation before sending', () => {
  it('names the message index and the field, and sends nothing', async () => {
    const { client, mitto } = setup();
    const messages = batch(6);
    messages[3] = sms(3, { destination: '306912345678' });
    messages[5] = sms(5, { text: '   ', sender: 'A' });
    const error = await failure(client.sendBulk(messages));
    expect(error).toBeInstanceOf(MittoValidationError);
    const issues = (error as MittoValidationError).issues;
    expect(issues.map((issue) => issue.path)).toEqual([
      ['messages', 3, 'destination'],
      ['messages', 5, 'text'],
      ['messages', 5, 'sender'],
    ]);
    expect(error.message).toContain('messages[3].destination');
    expect(error.sendState).toBe('not-sent');
    expect(error.isRetryable).toBe(false);
    expect(mitto.stats().requests).toBe(0);
  });

  it.each([
    ['destination', '+306912345678', true],
    ['destination', '+1234567', true],
    ['destination', '+123456789012345', true],
    ['destination', '+1234567890123456', false],
    ['destination', '+123456', false],
    ['destination', '+06912345678', false],
    ['destination', '00306912345678', false],
    ['destination', '+30 691 234 5678', false],
    ['sender', 'Shop', true],
    ['sender', 'My Shop 24', true],
    ['sender', 'ABC', true],
    ['sender', 'AB', false],
    ['sender', 'TwelveChars1', false],
    ['sender', 'Shöp', false],
    ['sender', '12', true],
    ['sender', '+306912345678', true],
    ['sender', '1234567890123456', true],
    ['sender', '12345678901234567', false],
    ['sender', '', false],
    ['text', 'x', true],
    ['text', '', false],
    ['text', ' \n', false],
    ['trafficAccountId', '', false],
    ['trafficAccountId', 'ta-1', true],
    ['reference', '', false],
    ['reference', 'x'.repeat(50), true],
    ['reference', 'x'.repeat(51), false],
  ] as const)('%s %j valid: %s', async (field, value, valid) => {
    const { client } = setup();
    const call = client.sendBulk([sms(0), sms(1, { [field]: value })]);
    if (valid) {
      await expect(call).resolves.toBeDefined();
    } else {
      const error = await failure(call);
      expect(isMittoValidationError(error)).toBe(true);
      expect((error as MittoValidationError).issues[0]!.path).toEqual(['messages', 1, field]);
    }
  });

  it('checks every message even when the sender and account repeat', async () => {
    for (const bad of [
      { sender: '' },
      { trafficAccountId: '' },
      { sender: 'AB' },
      { sender: null },
      { trafficAccountId: undefined },
    ] as Partial<OutboundSms>[]) {
      const { client } = setup();
      const first = (await failure(client.sendBulk([sms(0, bad)]))) as MittoValidationError;
      expect(first.issues.map((i) => i.path)).toEqual([['messages', 0, Object.keys(bad)[0]]]);
      const later = (await failure(
        client.sendBulk([sms(0), sms(1), sms(2, bad)]),
      )) as MittoValidationError;
      expect(later.issues.map((i) => i.path)).toEqual([['messages', 2, Object.keys(bad)[0]]]);
    }
  });

  it('rejects non-string fields and non-object messages', async () => {
    const { client } = setup();
    const messages = [
      sms(0),
      null,
      { ...sms(2), destination: 306912345678 },
    ] as unknown as OutboundSms[];
    const error = (await failure(client.sendBulk(messages))) as MittoValidationError;
    expect(error.issues.map((i) => i.path)).toEqual([
      ['messages', 1],
      ['messages', 2, 'destination'],
    ]);
  });

  it('refuses bad per-call overrides without a request', async () => {
    const { client, mitto } = setup();
    const error = (await failure(
      client.sendBulk(batch(1), { timeoutMs: -5, maxRetries: 1.5 }),
    )) as MittoValidationError;
    expect(error.issues.map((i) => i.path)).toEqual([
      ['options', 'timeoutMs'],
      ['options', 'maxRetries'],
    ]);
    expect(mitto.stats().requests).toBe(0);
  });

  it('refuses a batch above maxBatchSize', async () => {
    const { client, mitto } = setup([], { maxBatchSize: 10 });
    const error = (await failure(client.sendBulk(batch(11)))) as MittoValidationError;
    expect(error.issues).toEqual([
      { path: ['messages'], message: 'at most 10 messages per bulk call, got 11' },
    ]);
    expect(mitto.stats().requests).toBe(0);
  });

  it('validates sendOne under the path message', async () => {
    const { client } = setup();
    const error = (await failure(
      client.sendOne(sms(0, { trafficAccountId: '' })),
    )) as MittoValidationError;
    expect(error.issues[0]!.path).toEqual(['message', 'trafficAccountId']);
  });
});

describe('HTTP errors', () => {
  it.each([401, 403])('%i is an authentication error, not retried', async (code) => {
    const { state, resolver } = sequence(status(code));
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 3 });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoAuthenticationError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'authentication', status: code, sendState: 'not-sent' });
    expect(error.isRetryable).toBe(false);
    expect(state.calls).toBe(1);
  });

  it('answers 401 for a wrong key (the msw fake checks it)', async () => {
    const mitto = createMittoHandlers({ apiKey: 'right' });
    const client = createMittoClient({ apiKey: 'wrong', dispatcher: createMswDispatcher(mitto) });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoAuthenticationError(error)).toBe(true);
    expect(mitto.accepted).toHaveLength(0);
  });

  it('400 is a validation error carrying the reason, not retried', async () => {
    const { state, resolver } = sequence(
      status(400, { error: 'Invalid payload', description: 'messages[0].sms.text is required' }),
    );
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 3 });
    const error = (await failure(client.sendBulk(batch(1)))) as MittoValidationError;
    expect(isMittoValidationError(error)).toBe(true);
    expect(error.status).toBe(400);
    expect(error.issues[0]!.message).toContain('messages[0].sms.text is required');
    expect(error.isRetryable).toBe(false);
    expect(state.calls).toBe(1);
  });

  it('400 with only a message field keeps that message', async () => {
    const { client } = setup([http.post(BULK, status(400, { message: 'Bad sender' }))]);
    const error = (await failure(client.sendBulk(batch(1)))) as MittoValidationError;
    expect(error.issues).toEqual([{ path: [], message: 'Bad sender' }]);
  });

  it('429 is a rate-limit error with Retry-After in seconds, retried', async () => {
    const { state, resolver } = sequence(
      status(429, { error: 'slow down' }, { 'retry-after': '0' }),
      ok({ bulkId: 'b', messages: [{ messageId: 'm' }] }),
    );
    const { client, logs } = setup([http.post(BULK, resolver)]);
    await expect(client.sendBulk(batch(1))).resolves.toMatchObject({ bulkId: 'b' });
    expect(state.calls).toBe(2);
    expect(logs.filter((l) => l.level === 'warn')[0]!.object).toMatchObject({
      code: 'rate_limited',
      delayMs: 0,
    });
  });

  it('429 with an HTTP-date Retry-After is parsed and surfaced when retries run out', async () => {
    const when = new Date(Date.now() + 20_000).toUTCString();
    const { client } = setup([http.post(BULK, status(429, {}, { 'retry-after': when }))], {
      maxRetries: 0,
    });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoRateLimitError(error)).toBe(true);
    expect(error).toMatchObject({ isRateLimited: true, isRetryable: true, sendState: 'not-sent' });
    expect(error.retryAfterMs).toBeGreaterThan(15_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(20_000);
  });

  it('does not wait out a Retry-After beyond maxRetryAfterMs: it goes up to the caller', async () => {
    const { state, resolver } = sequence(status(429, {}, { 'retry-after': '120' }));
    const { client } = setup([http.post(BULK, resolver)], {
      maxRetries: 3,
      backoff: { maxRetryAfterMs: 60_000 },
    });
    const error = await failure(client.sendBulk(batch(1)));
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 120_000 });
    expect(state.calls).toBe(1);
  });

  it.each([500, 502, 503])('%i is a server error, retried up to maxRetries', async (code) => {
    const { state, resolver } = sequence(status(code));
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 2 });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoServerError(error)).toBe(true);
    expect(error).toMatchObject({ status: code, isRetryable: true, sendState: 'not-sent' });
    expect(state.calls).toBe(3);
  });

  it('treats a 504 to a send as ambiguous: a gateway gave up, Mitto may have accepted', async () => {
    const { state, resolver } = sequence(status(504));
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 2 });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoAmbiguousError(error)).toBe(true);
    expect(error).toMatchObject({
      status: 504,
      reason: 'gateway_timeout',
      sendState: 'maybe-sent',
    });
    expect(state.calls).toBe(1);
  });

  it('recovers when a retry succeeds after 5xx', async () => {
    const { state, resolver } = sequence(
      status(503),
      status(500),
      ok({ bulkId: 'b', messages: [{ messageId: 'm' }] }),
    );
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 2 });
    await expect(client.sendBulk(batch(1))).resolves.toMatchObject({ bulkId: 'b' });
    expect(state.calls).toBe(3);
  });

  it('a per-call maxRetries overrides the client', async () => {
    const { state, resolver } = sequence(status(503));
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 5 });
    await failure(client.sendBulk(batch(1), { maxRetries: 0 }));
    expect(state.calls).toBe(1);
  });

  it('any other status is an HTTP error, not retried', async () => {
    const { state, resolver } = sequence(status(404, { error: 'no such route' }));
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 3 });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoHttpError(error)).toBe(true);
    expect(error).toMatchObject({ status: 404, isRetryable: false, sendState: 'not-sent' });
    expect(state.calls).toBe(1);
  });

  it('carries the request id from the answer', async () => {
    const { client } = setup([http.post(BULK, status(503, {}, { 'x-request-id': 'req-42' }))], {
      maxRetries: 0,
    });
    const error = await failure(client.sendBulk(batch(1)));
    expect(error.requestId).toBe('req-42');
  });
});

describe('connection failures', () => {
  it('a refused connection is not-sent and retried', async () => {
    let calls = 0;
    const { client } = setup(
      [
        http.post(BULK, () => {
          calls++;
          if (calls < 3) {
            throw connectionRefusedError();
          }
          return HttpResponse.json({ bulkId: 'b', messages: [{ messageId: 'm' }] });
        }),
      ],
      { maxRetries: 2 },
    );
    await expect(client.sendBulk(batch(1))).resolves.toMatchObject({ bulkId: 'b' });
    expect(calls).toBe(3);
  });

  it('a refused connection surfaces as MittoConnectionError once retries run out', async () => {
    const { client } = setup(
      [
        http.post(BULK, () => {
          throw connectionRefusedError();
        }),
      ],
      { maxRetries: 1 },
    );
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoConnectionError(error)).toBe(true);
    expect(error).toMatchObject({ sendState: 'not-sent', isRetryable: true, status: null });
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('a reset after the request went out is ambiguous and never retried', async () => {
    const { state, resolver } = sequence(() => HttpResponse.error());
    const { client } = setup([http.post(BULK, resolver)], { maxRetries: 3 });
    const error = await failure(client.sendBulk(batch(2)));
    expect(isMittoAmbiguousError(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'connection_lost', sendState: 'maybe-sent' });
    expect(error.isRetryable).toBe(false);
    expect(state.calls).toBe(1);
  });

  it('the msw fake records messages it accepted before dropping the connection', async () => {
    const { client, mitto } = setup();
    mitto.failNext({ type: 'drop-after-accept' });
    const error = await failure(client.sendBulk(batch(2)));
    expect(isMittoAmbiguousError(error)).toBe(true);
    expect(mitto.accepted.map((m) => m.reference)).toEqual(['c1-0', 'c1-1']);
  });

  it('no answer within timeoutMs after sending is an ambiguous timeout, not retried', async () => {
    const { state, resolver } = sequence(async () => {
      await delay('infinite');
      return HttpResponse.json({});
    });
    const { client } = setup([http.post(BULK, resolver)], { timeoutMs: 60_000, maxRetries: 3 });
    // The per-call override is what makes this test fast.
    const error = await failure(client.sendBulk(batch(1), { timeoutMs: 50 }));
    expect(error).toMatchObject({ code: 'ambiguous', reason: 'timeout', sendState: 'maybe-sent' });
    expect(state.calls).toBe(1);
  });
});

describe('retry policy', () => {
  it('Retry-After wins over a long computed backoff', async () => {
    const { state, resolver } = sequence(
      status(429, {}, { 'retry-after': '0' }),
      ok({ messages: [{ messageId: 'm' }] }),
    );
    // A computed backoff would wait a minute and time the test out.
    const { client } = setup([http.post(BULK, resolver)], {
      backoff: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    await client.sendBulk(batch(1));
    expect(state.calls).toBe(2);
  });

  it('Retry-After wins over a short computed backoff', async () => {
    const { resolver } = sequence(
      status(503, {}, { 'retry-after': '1' }),
      ok({ messages: [{ messageId: 'm' }] }),
    );
    const { client } = setup([http.post(BULK, resolver)], {
      backoff: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    const started = performance.now();
    await client.sendBulk(batch(1));
    // Only a lower bound: a slow machine may take longer, never shorter.
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('computed waits stay within the cap', async () => {
    const { resolver } = sequence(status(503));
    const { client, logs } = setup([http.post(BULK, resolver)], {
      maxRetries: 5,
      backoff: { initialDelayMs: 4, maxDelayMs: 20, factor: 10 },
    });
    await failure(client.sendBulk(batch(1)));
    const delays = logs.filter((l) => l.level === 'warn').map((l) => l.object.delayMs as number);
    expect(delays).toHaveLength(5);
    expect(delays[0]).toBeGreaterThanOrEqual(2);
    expect(delays[0]).toBeLessThanOrEqual(4);
    for (const wait of delays.slice(1)) {
      expect(wait).toBeGreaterThanOrEqual(10);
      expect(wait).toBeLessThanOrEqual(20);
    }
  });
});

describe('abort', () => {
  it('an already aborted signal sends nothing', async () => {
    const { client, mitto } = setup();
    const error = await failure(client.sendBulk(batch(1), { signal: AbortSignal.abort() }));
    expect(isMittoAbortError(error)).toBe(true);
    expect(error.sendState).toBe('not-sent');
    expect(mitto.stats().requests).toBe(0);
  });

  it('an abort after the body went out is ambiguous', async () => {
    const controller = new AbortController();
    const { client } = setup([
      http.post(BULK, async () => {
        controller.abort();
        await delay('infinite');
        return HttpResponse.json({});
      }),
    ]);
    const error = await failure(client.sendBulk(batch(1), { signal: controller.signal }));
    expect(error).toMatchObject({ code: 'ambiguous', reason: 'aborted', sendState: 'maybe-sent' });
  });

  it('an abort while waiting to retry stops the retries', async () => {
    const controller = new AbortController();
    const { state, resolver } = sequence(() => {
      setTimeout(() => controller.abort(), 10);
      return HttpResponse.json({}, { status: 503 });
    });
    const { client } = setup([http.post(BULK, resolver)], {
      maxRetries: 5,
      backoff: { initialDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    const error = await failure(client.sendBulk(batch(1), { signal: controller.signal }));
    expect(isMittoAbortError(error)).toBe(true);
    expect(error.sendState).toBe('not-sent');
    expect(state.calls).toBe(1);
  });

  it('an abort after a successful answer keeps the result', async () => {
    const controller = new AbortController();
    const { client } = setup();
    const result = await client.sendBulk(batch(1), { signal: controller.signal });
    controller.abort();
    expect(result.results[0]!.status).toBe('accepted');
  });
});

describe('sendOne', () => {
  it('posts one message to Messages/send', async () => {
    const { state, resolver } = sequence(
      ok({ messages: [{ messageId: 'm-1', trafficAccountId: 'ta-1' }] }),
    );
    const { client } = setup([http.post(SEND, resolver)]);
    await expect(client.sendOne(sms(0))).resolves.toEqual({
      status: 'accepted',
      providerMessageId: 'm-1',
    });
    expect(state.bodies[0]).toEqual({
      trafficAccountId: 'ta-1',
      destination: sms(0).destination,
      sms: { text: 'Hello 0', sender: 'Shop' },
      reference: 'c1-0',
    });
  });

  it('reports a rejected single message', async () => {
    const { client } = setup([
      http.post(
        SEND,
        ok({ messages: [{ trafficAccountId: 'ta-1', error: 'Invalid destination' }] }),
      ),
    ]);
    await expect(client.sendOne(sms(0))).resolves.toEqual({
      status: 'rejected',
      reason: 'Invalid destination',
      isRetryable: false,
    });
  });

  it('an answer with no result is ambiguous', async () => {
    const { client } = setup([http.post(SEND, ok({ messages: [] }))]);
    const error = await failure(client.sendOne(sms(0)));
    expect(error).toMatchObject({ code: 'ambiguous', reason: 'length_mismatch' });
  });

  it('works against the msw fake', async () => {
    const { client, mitto } = setup();
    const outcome = await client.sendOne(sms(7));
    expect(outcome).toEqual({
      status: 'accepted',
      providerMessageId: mitto.accepted[0]!.messageId,
    });
    expect(mitto.accepted[0]!.bulkId).toBeNull();
  });
});

describe('lookup', () => {
  const answer = (body: Record<string, unknown>) =>
    http.get(LOOKUP, () =>
      HttpResponse.json({
        messageId: 'm-1',
        trafficAccountId: 'ta-1',
        reference: 'c1-1',
        createdAt: '2026-11-30T10:00:00Z',
        updatedAt: '2026-11-30T10:00:04Z',
        description: null,
        ...body,
      }),
    );

  it('maps a delivered message', async () => {
    const { client } = setup([answer({ deliveryStatus: 'Delivered' })]);
    await expect(client.lookup('m-1')).resolves.toEqual({
      providerMessageId: 'm-1',
      reference: 'c1-1',
      state: 'delivered',
      providerStatus: 'Delivered',
      reason: null,
      occurredAt: Date.parse('2026-11-30T10:00:04Z'),
    });
  });

  it.each([
    ['UNDELIVERED', 'failed'],
    ['expired', 'failed'],
    ['Sent', 'sent'],
    ['Queued', null],
    ['SomethingNew', null],
  ])('maps %s to %s', async (providerStatus, state) => {
    const { client } = setup([answer({ deliveryStatus: providerStatus })]);
    const result = await client.lookup('m-1');
    expect(result).toMatchObject({ state, providerStatus });
  });

  it('gives a failed message its reason', async () => {
    const { client } = setup([
      answer({ deliveryStatus: 'Failed', description: 'Absent subscriber', updatedAt: null }),
    ]);
    await expect(client.lookup('m-1')).resolves.toMatchObject({
      state: 'failed',
      reason: 'Absent subscriber',
      occurredAt: Date.parse('2026-11-30T10:00:00Z'),
    });
  });

  it('returns null for an unknown id (404)', async () => {
    const { client } = setup();
    await expect(client.lookup('nope')).resolves.toBeNull();
  });

  it('finds what the msw fake accepted, reference included', async () => {
    const { client, mitto } = setup();
    await client.sendBulk(batch(2));
    await expect(client.lookup(mitto.accepted[1]!.messageId)).resolves.toMatchObject({
      reference: 'c1-1',
      state: 'sent',
    });
  });

  it('encodes the id into the path', async () => {
    let seenPath = '';
    const { client } = setup([
      http.get(LOOKUP, ({ request }) => {
        seenPath = new URL(request.url).pathname;
        return HttpResponse.json({ messageId: 'a/b c', deliveryStatus: 'Sent' });
      }),
    ]);
    await client.lookup('a/b c');
    expect(seenPath).toBe('/api/v1.1/Messages/a%2Fb%20c');
  });

  it('retries a lookup after 5xx and after a lost answer (it sends nothing)', async () => {
    const { state, resolver } = sequence(
      status(503),
      () => HttpResponse.error(),
      ok({ messageId: 'm-1', deliveryStatus: 'Sent' }),
    );
    const { client } = setup([http.get(LOOKUP, resolver)], { maxRetries: 2 });
    await expect(client.lookup('m-1')).resolves.toMatchObject({ state: 'sent' });
    expect(state.calls).toBe(3);
  });

  it('an unreadable lookup answer is an invalid-response error', async () => {
    const { client } = setup([http.get(LOOKUP, ok({ deliveryStatus: 'Sent' }))]);
    const error = await failure(client.lookup('m-1'));
    expect(isMittoInvalidResponseError(error)).toBe(true);
    expect(error.sendState).toBe('not-sent');
  });
});

describe('redaction of the API key', () => {
  const SECRET = 'sk-live-very-secret-4242';

  function leakingDispatcher(makeError: () => Error) {
    return {
      dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
        const legacy = handler as unknown as {
          onConnect(abort: () => void): void;
          onRequestSent(): void;
          onError(error: Error): void;
        };
        legacy.onConnect(() => {});
        legacy.onRequestSent();
        setImmediate(() => legacy.onError(makeError()));
        return true;
      },
    };
  }

  const everything = (error: unknown): string =>
    [
      String(error),
      (error as Error).stack,
      inspect(error, { depth: 10 }),
      JSON.stringify(error),
      String((error as Error).cause),
      ((error as Error).cause as Error | undefined)?.stack,
    ].join('\n');

  it('scrubs the key from an undici error used as cause', async () => {
    const { SocketError } = await import('undici').then((m) => m.errors);
    const lines: LogLine[] = [];
    const client = createMittoClient({
      apiKey: SECRET,
      dispatcher: leakingDispatcher(
        () => new SocketError(`socket hang up while sending x-mitto-api-key: ${SECRET}`),
      ),
      logger: recordingLogger(lines),
    });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoAmbiguousError(error)).toBe(true);
    expect(everything(error)).not.toContain(SECRET);
    expect(everything(error)).toContain('[REDACTED]');
    expect((error.cause as { code?: string }).code).toBe('UND_ERR_SOCKET');
  });

  it('scrubs the key from a nested cause and from retry logs', async () => {
    const lines: LogLine[] = [];
    let calls = 0;
    const client = createMittoClient({
      apiKey: SECRET,
      dispatcher: {
        dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
          const legacy = handler as unknown as {
            onConnect(abort: () => void): void;
            onError(error: Error): void;
          };
          calls++;
          legacy.onConnect(() => {});
          const inner = Object.assign(new Error(`proxy said key=${SECRET}`), {
            code: 'ECONNREFUSED',
          });
          setImmediate(() =>
            legacy.onError(
              Object.assign(new Error(`connect failed (${SECRET})`, { cause: inner }), {
                code: 'ECONNREFUSED',
              }),
            ),
          );
          return true;
        },
      },
      logger: recordingLogger(lines),
      maxRetries: 2,
      backoff: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoConnectionError(error)).toBe(true);
    expect(calls).toBe(3);
    expect(everything(error)).not.toContain(SECRET);
    expect(inspect((error.cause as Error).cause)).not.toContain(SECRET);
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('scrubs the key when Mitto echoes it in an error body', async () => {
    const client = createMittoClient({
      apiKey: SECRET,
      dispatcher: createMswDispatcher([
        http.post(BULK, () =>
          HttpResponse.json({ error: `unknown key ${SECRET}` }, { status: 400 }),
        ),
      ]),
    });
    const error = (await failure(client.sendBulk(batch(1)))) as MittoValidationError;
    expect(everything(error)).not.toContain(SECRET);
    expect(JSON.stringify(error.issues)).not.toContain(SECRET);
  });

  it('does not leak part of the key where an excerpt is cut', async () => {
    for (const offset of [190, 195, 199, 200]) {
      const body = `${'x'.repeat(offset)}${SECRET} tail`;
      const client = createMittoClient({
        apiKey: SECRET,
        maxRetries: 0,
        dispatcher: createMswDispatcher([
          http.post(BULK, () => new HttpResponse(body, { status: 502 })),
        ]),
      });
      const error = await failure(client.sendBulk(batch(1)));
      expect(error.message).not.toContain(SECRET.slice(0, 6));
    }
  });

  it('keeps the key out of option errors', () => {
    expect(() => createMittoClient({ apiKey: SECRET, timeoutMs: -1 })).toThrow(/timeoutMs/);
    try {
      createMittoClient({ apiKey: SECRET, timeoutMs: -1 });
    } catch (error) {
      expect(everything(error)).not.toContain(SECRET);
    }
  });
});

describe('close', () => {
  it('refuses calls after close without a request', async () => {
    const { client, mitto } = setup();
    await client.close();
    const error = await failure(client.sendBulk(batch(1)));
    expect(isMittoConnectionError(error)).toBe(true);
    expect(mitto.stats().requests).toBe(0);
  });
});
