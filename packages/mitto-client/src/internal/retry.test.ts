import { describe, expect, it } from 'vitest';
import {
  MittoAbortError,
  MittoAmbiguousError,
  MittoAuthenticationError,
  MittoConnectionError,
  MittoHttpError,
  MittoRateLimitError,
  MittoServerError,
  MittoValidationError,
} from './errors.js';
import { computeBackoffMs, retryDelayFor } from './retry.js';

const settings = { initialDelayMs: 100, maxDelayMs: 2_000, factor: 2, maxRetryAfterMs: 30_000 };

describe('backoff', () => {
  it('grows exponentially and stays within [cap/2, cap]', () => {
    const low = (n: number) => computeBackoffMs(n, settings, () => 0);
    const high = (n: number) => computeBackoffMs(n, settings, () => 0.999999);
    expect([1, 2, 3, 4].map(high)).toEqual([100, 200, 400, 800]);
    expect([1, 2, 3, 4].map(low)).toEqual([50, 100, 200, 400]);
  });

  it('is capped at maxDelayMs however many retries', () => {
    for (const n of [6, 10, 30, 1000]) {
      expect(computeBackoffMs(n, settings, () => 0.999999)).toBe(2_000);
      expect(computeBackoffMs(n, settings, () => 0)).toBe(1_000);
    }
  });

  it('jitters between callers', () => {
    const waits = new Set(Array.from({ length: 50 }, () => computeBackoffMs(3, settings)));
    expect(waits.size).toBeGreaterThan(5);
  });
});

describe('what is retried', () => {
  it.each([
    ['connection refused', new MittoConnectionError('x')],
    ['5xx', new MittoServerError('x', { status: 503 })],
    ['429 without Retry-After', new MittoRateLimitError('x', { status: 429 })],
  ])('retries %s with the computed backoff', (_, error) => {
    expect(retryDelayFor(error, 1, settings, () => 0)).toBe(50);
  });

  it.each([
    ['ambiguous timeout', new MittoAmbiguousError('timeout', 'x')],
    ['ambiguous reset', new MittoAmbiguousError('connection_lost', 'x')],
    ['length mismatch', new MittoAmbiguousError('length_mismatch', 'x')],
    ['401', new MittoAuthenticationError('x', { status: 401 })],
    ['403', new MittoAuthenticationError('x', { status: 403 })],
    ['400', new MittoValidationError([])],
    ['404', new MittoHttpError('x', { status: 404 })],
    ['abort', new MittoAbortError('x')],
  ])('never retries %s', (_, error) => {
    expect(retryDelayFor(error, 1, settings)).toBeNull();
  });

  it('lets Retry-After win, shorter or longer than the backoff', () => {
    const soon = new MittoRateLimitError('x', { retryAfterMs: 10 });
    const later = new MittoServerError('x', { retryAfterMs: 25_000 });
    expect(retryDelayFor(soon, 5, settings)).toBe(10);
    expect(retryDelayFor(later, 1, settings)).toBe(25_000);
  });

  it('hands a Retry-After above maxRetryAfterMs back to the caller', () => {
    const error = new MittoRateLimitError('x', { retryAfterMs: 30_001 });
    expect(retryDelayFor(error, 1, settings)).toBeNull();
  });
});
