import { describe, expect, it } from 'vitest';
import { isTransient } from './db.js';

const pgError = (code: string) =>
  Object.assign(new Error(`error ${code}`), { code, severity: 'ERROR' });

describe('isTransient', () => {
  it('retries what a fresh attempt can fix', () => {
    for (const code of ['40001', '40P01', '57P01', '57P02', '57P03', '53300', '08006', '08001']) {
      expect(isTransient(pgError(code)), code).toBe(true);
    }
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']) {
      expect(isTransient(Object.assign(new Error(code), { code })), code).toBe(true);
    }
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isTransient(new Error('Client has encountered a connection error and is not queryable')),
    ).toBe(true);
  });

  it('surfaces everything else at once', () => {
    for (const code of ['23505', '23503', '23514', '42P01', '42601', '22P02']) {
      expect(isTransient(pgError(code)), code).toBe(false);
    }
    expect(isTransient(new TypeError('x is not a function'))).toBe(false);
    expect(isTransient('a string')).toBe(false);
  });
});
