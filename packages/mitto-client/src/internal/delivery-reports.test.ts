import { describe, expect, it } from 'vitest';
import { parseDeliveryReports } from './delivery-reports.js';

const at = Date.parse('2026-11-30T10:00:04Z');

describe('parseDeliveryReports', () => {
  it('reads one JSON object', () => {
    const report = {
      messageId: 'm-1',
      deliveryStatus: 'Delivered',
      reference: 'c1-1',
      updatedAt: '2026-11-30T10:00:04Z',
    };
    const { events, noNews, unreadable } = parseDeliveryReports(report);
    expect(events).toEqual([
      {
        index: 0,
        raw: report,
        providerMessageId: 'm-1',
        reference: 'c1-1',
        state: 'delivered',
        providerStatus: 'Delivered',
        reason: null,
        occurredAt: at,
      },
    ]);
    expect(noNews).toEqual([]);
    expect(unreadable).toEqual([]);
  });

  it('reads an array, keeping each item index', () => {
    const { events } = parseDeliveryReports([
      { messageId: 'm-1', deliveryStatus: 'Sent' },
      { messageId: 'm-2', status: 'Failed', error: 'Absent subscriber' },
    ]);
    expect(events.map((e) => [e.index, e.providerMessageId, e.state, e.reason])).toEqual([
      [0, 'm-1', 'sent', null],
      [1, 'm-2', 'failed', 'Absent subscriber'],
    ]);
  });

  it('reads a JSON string and a Buffer', () => {
    const body = JSON.stringify([
      { messageId: 'm-1', deliveryStatus: 'Delivered', reference: 'r' },
    ]);
    for (const input of [body, Buffer.from(body), new TextEncoder().encode(` ${body}\n`)]) {
      const { events } = parseDeliveryReports(input);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        providerMessageId: 'm-1',
        reference: 'r',
        state: 'delivered',
      });
    }
  });

  it('reads the older form-encoded spelling (msgid, status, errorcode)', () => {
    const { events } = parseDeliveryReports('msgid=m-9&status=Undelivered&errorcode=27');
    expect(events).toEqual([
      expect.objectContaining({
        providerMessageId: 'm-9',
        reference: null,
        state: 'failed',
        providerStatus: 'Undelivered',
        reason: '27',
        occurredAt: null,
      }),
    ]);
  });

  it('reads a GET query as URLSearchParams or as a "?..." string', () => {
    const params = new URLSearchParams({
      msgid: 'm-3',
      status: 'delivered',
      timestamp: '1796032804',
    });
    const fromParams = parseDeliveryReports(params).events[0]!;
    const fromQuery = parseDeliveryReports(`?${params}`).events[0]!;
    for (const event of [fromParams, fromQuery]) {
      expect(event).toMatchObject({
        providerMessageId: 'm-3',
        state: 'delivered',
        occurredAt: 1796032804000,
      });
    }
  });

  it('reads an express-style query object, repeated keys included', () => {
    const { events } = parseDeliveryReports({ msgid: ['m-4', 'm-5'], status: 'Sent' });
    expect(events[0]).toMatchObject({ providerMessageId: 'm-4', state: 'sent' });
  });

  it('matches field names case-insensitively and accepts numeric ids', () => {
    const { events } = parseDeliveryReports({ MessageId: 12345, DeliveryStatus: 'EXPIRED' });
    expect(events[0]).toMatchObject({
      providerMessageId: '12345',
      state: 'failed',
      providerStatus: 'EXPIRED',
      reason: 'EXPIRED',
    });
  });

  it.each([
    ['Failure', 'failed'],
    ['Failed', 'failed'],
    ['Undelivered', 'failed'],
    ['Expired', 'failed'],
    ['Rejected', 'failed'],
    ['sent', 'sent'],
    ['DELIVERED', 'delivered'],
  ])('maps %s to %s', (status, state) => {
    expect(parseDeliveryReports({ messageId: 'm', status }).events[0]!.state).toBe(state);
  });

  it('takes the failure reason from description, then error, then errorcode', () => {
    const reasons = [
      { description: 'd', error: 'e', errorcode: 1 },
      { description: ' ', error: 'e', errorcode: 1 },
      { errorcode: 1 },
      {},
    ].map(
      (fields) =>
        parseDeliveryReports({ messageId: 'm', status: 'Failed', ...fields }).events[0]!.reason,
    );
    expect(reasons).toEqual(['d', 'e', '1', 'Failed']);
  });

  it('accepts a report carrying only the reference (before the send result was stored)', () => {
    const { events } = parseDeliveryReports({ reference: 'c1-7', deliveryStatus: 'Delivered' });
    expect(events[0]).toMatchObject({ providerMessageId: null, reference: 'c1-7' });
  });

  it('reports Queued and unknown statuses as no news, never as errors', () => {
    const { events, noNews, unreadable } = parseDeliveryReports([
      { messageId: 'm-1', deliveryStatus: 'Queued', reference: 'r-1' },
      { messageId: 'm-2', deliveryStatus: 'Buffered', updatedAt: '2026-11-30T10:00:04Z' },
    ]);
    expect(events).toEqual([]);
    expect(unreadable).toEqual([]);
    expect(
      noNews.map((n) => [
        n.index,
        n.providerMessageId,
        n.reference,
        n.providerStatus,
        n.occurredAt,
      ]),
    ).toEqual([
      [0, 'm-1', 'r-1', 'Queued', null],
      [1, 'm-2', null, 'Buffered', at],
    ]);
  });

  it('separates garbage items from readable ones', () => {
    const { events, noNews, unreadable } = parseDeliveryReports([
      { messageId: 'm-1', deliveryStatus: 'Delivered' },
      null,
      'm-2',
      [1, 2],
      { deliveryStatus: 'Delivered' },
      { messageId: 'm-3' },
      { messageId: '  ', reference: '', status: 'Sent' },
      { messageId: 'm-4', status: 42 },
    ]);
    expect(events).toHaveLength(1);
    expect(unreadable.map((u) => u.index)).toEqual([1, 2, 3, 4, 5, 6]);
    // A numeric status is readable, just not one we know.
    expect(noNews.map((n) => [n.index, n.providerStatus])).toEqual([[7, '42']]);
    expect(unreadable[3]!.reason).toMatch(/messageId/);
    expect(unreadable[4]!.reason).toMatch(/status/);
    expect(unreadable[1]!.raw).toBe('m-2');
  });

  it.each([
    ['invalid JSON', '{"messageId": "m-1", '],
    ['an empty body', '   '],
    ['an empty array', []],
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['form data without the fields', 'foo=bar'],
  ])('reports %s as unreadable without throwing', (_, input) => {
    const result = parseDeliveryReports(input);
    expect(result.events).toEqual([]);
    expect(result.unreadable).toHaveLength(1);
    expect(result.unreadable[0]!.index).toBe(0);
  });

  it('stops at maxItems and says so', () => {
    const items = Array.from({ length: 5 }, (_, i) => ({ messageId: `m-${i}`, status: 'Sent' }));
    const { events, unreadable } = parseDeliveryReports(items, { maxItems: 3 });
    expect(events).toHaveLength(3);
    expect(unreadable).toEqual([
      { index: 3, reason: expect.stringContaining('2 items'), raw: null },
    ]);
  });
});
