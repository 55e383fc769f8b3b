import { describe, expect, it } from 'vitest';
import { toDeliveryState } from './delivery-status.js';
import { parseRetryAfter } from './retry-after.js';
import { parseTime } from './time.js';

describe('Retry-After', () => {
  const now = Date.parse('2026-11-30T10:00:00Z');

  it.each([
    ['120', 120_000],
    [' 3 ', 3_000],
    ['0', 0],
    ['1.5', 1_500],
    ['Mon, 30 Nov 2026 10:00:30 GMT', 30_000],
    ['Mon, 30 Nov 2026 09:59:00 GMT', 0],
    ['soon', undefined],
    ['-5', undefined],
    ['', undefined],
    [null, undefined],
  ])('%j → %s ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });
});

describe('provider times', () => {
  it.each([
    ['2026-11-30T10:00:04Z', Date.parse('2026-11-30T10:00:04Z')],
    ['2026-11-30T12:00:04+02:00', Date.parse('2026-11-30T10:00:04Z')],
    ['2026-11-30T10:00:04', Date.parse('2026-11-30T10:00:04Z')],
    ['2026-11-30 10:00:04', Date.parse('2026-11-30T10:00:04Z')],
    ['2026-11-30T10:00:04.250', Date.parse('2026-11-30T10:00:04.250Z')],
    [1796032804, 1796032804000],
    [1796032804123, 1796032804123],
    ['1796032804', 1796032804000],
    ['not a date', null],
    ['', null],
    [0, null],
    [Number.NaN, null],
  ])('%j → %s', (value, expected) => {
    expect(parseTime(value)).toBe(expected);
  });
});

describe('delivery statuses', () => {
  it.each([
    ['Sent', 'sent'],
    ['DELIVERED', 'delivered'],
    [' delivered ', 'delivered'],
    ['Failure', 'failed'],
    ['Failed', 'failed'],
    ['undelivered', 'failed'],
    ['Expired', 'failed'],
    ['Rejected', 'failed'],
    ['Queued', null],
    ['Accepted', null],
    ['', null],
  ])('%j → %s', (status, state) => {
    expect(toDeliveryState(status)).toBe(state);
  });
});
