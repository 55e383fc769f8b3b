import { describe, expect, it } from 'vitest';
import {
  isMittoAbortError,
  isMittoAmbiguousError,
  isMittoAuthenticationError,
  isMittoConnectionError,
  isMittoError,
  isMittoHttpError,
  isMittoInvalidResponseError,
  isMittoRateLimitError,
  isMittoServerError,
  isMittoValidationError,
  MittoAbortError,
  MittoAmbiguousError,
  MittoAuthenticationError,
  MittoConnectionError,
  MittoError,
  MittoHttpError,
  MittoInvalidResponseError,
  MittoRateLimitError,
  MittoServerError,
  MittoValidationError,
} from './errors.js';

// What the pipeline reads off each error: it decides between requeue, fail and `unknown`.
const table = [
  [
    new MittoAuthenticationError('x', { status: 401 }),
    'authentication',
    'not-sent',
    false,
    false,
    isMittoAuthenticationError,
  ],
  [
    new MittoValidationError([{ path: ['messages', 3, 'destination'], message: 'bad' }]),
    'validation',
    'not-sent',
    false,
    false,
    isMittoValidationError,
  ],
  [
    new MittoRateLimitError('x', { status: 429, retryAfterMs: 2000 }),
    'rate_limited',
    'not-sent',
    true,
    true,
    isMittoRateLimitError,
  ],
  [
    new MittoServerError('x', { status: 503 }),
    'server',
    'not-sent',
    true,
    false,
    isMittoServerError,
  ],
  [new MittoConnectionError('x'), 'connection', 'not-sent', true, false, isMittoConnectionError],
  [new MittoAbortError('x'), 'aborted', 'not-sent', true, false, isMittoAbortError],
  [
    new MittoAmbiguousError('timeout', 'x'),
    'ambiguous',
    'maybe-sent',
    false,
    false,
    isMittoAmbiguousError,
  ],
  [new MittoHttpError('x', { status: 404 }), 'http', 'not-sent', false, false, isMittoHttpError],
  [
    new MittoInvalidResponseError('x', { status: 200 }),
    'invalid_response',
    'not-sent',
    false,
    false,
    isMittoInvalidResponseError,
  ],
] as const;

describe('error classes', () => {
  it.each(table)(
    '%s: code, sendState, isRetryable, isRateLimited',
    (error, code, sendState, retryable, rateLimited, guard) => {
      expect(error).toBeInstanceOf(MittoError);
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe(code);
      expect(error.sendState).toBe(sendState);
      expect(error.isRetryable).toBe(retryable);
      expect(error.isRateLimited).toBe(rateLimited);
      expect(guard(error)).toBe(true);
      expect(isMittoError(error)).toBe(true);
    },
  );

  it('only the ambiguous error is maybe-sent', () => {
    const maybe = table.filter(([error]) => error.sendState === 'maybe-sent').map(([e]) => e.name);
    expect(maybe).toEqual(['MittoAmbiguousError']);
  });

  it('each guard accepts its own class only', () => {
    for (const [, , , , , guard] of table) {
      const matches = table.filter(([error]) => guard(error));
      expect(matches).toHaveLength(1);
    }
  });

  it('guards match on name, so errors from another copy of the package count', () => {
    const foreign = Object.assign(new Error('from elsewhere'), { name: 'MittoAmbiguousError' });
    expect(isMittoAmbiguousError(foreign)).toBe(true);
    expect(isMittoError(foreign)).toBe(true);
    expect(isMittoServerError(foreign)).toBe(false);
    expect(isMittoError(new Error('plain'))).toBe(false);
    expect(isMittoError({ name: 'MittoError' })).toBe(false);
  });

  it('keeps status, retryAfterMs, requestId and cause', () => {
    const cause = new Error('root');
    const error = new MittoRateLimitError('slow down', {
      status: 429,
      retryAfterMs: 1500,
      requestId: 'r-1',
      cause,
    });
    expect(error).toMatchObject({ status: 429, retryAfterMs: 1500, requestId: 'r-1', cause });
    expect(new MittoConnectionError('x')).toMatchObject({ status: null, requestId: null });
  });

  it('names the field path in the validation message', () => {
    const error = new MittoValidationError([
      { path: ['messages', 3, 'destination'], message: 'must be E.164' },
      { path: [], message: 'whole thing' },
    ]);
    expect(error.message).toBe(
      'invalid request: messages[3].destination: must be E.164; whole thing',
    );
  });

  it('records why an ambiguous error is ambiguous', () => {
    expect(new MittoAmbiguousError('length_mismatch', 'x').reason).toBe('length_mismatch');
  });
});
