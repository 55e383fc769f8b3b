import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createRedactor } from './redact.js';

describe('redactor', () => {
  const redact = createRedactor('s3cr3t');

  it('replaces every occurrence in text', () => {
    expect(redact.text('a s3cr3t b s3cr3t')).toBe('a [REDACTED] b [REDACTED]');
    expect(redact.text('clean')).toBe('clean');
  });

  it('keeps a clean cause as is', () => {
    const cause = new Error('boom');
    expect(redact.cause(cause)).toBe(cause);
  });

  it('copies a cause that mentions the key in a field, keeping name and code', () => {
    const cause = Object.assign(new Error('boom'), {
      code: 'UND_ERR_X',
      headers: { 'x-mitto-api-key': 's3cr3t' },
    });
    cause.name = 'SocketError';
    const safe = redact.cause(cause) as Error & { code?: string };
    expect(safe).not.toBe(cause);
    expect(safe).toMatchObject({ name: 'SocketError', code: 'UND_ERR_X', message: 'boom' });
    expect(inspect(safe, { depth: 10 })).not.toContain('s3cr3t');
  });

  it('scrubs nested causes', () => {
    const cause = new Error('outer', { cause: new Error('inner s3cr3t') });
    expect(inspect(redact.cause(cause), { depth: 10 })).not.toContain('s3cr3t');
  });
});
