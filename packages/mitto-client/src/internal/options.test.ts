import type { Logger } from '@smsbatch/core';
import { describe, expect, it } from 'vitest';
import { MittoValidationError } from './errors.js';
import { resolveClientOptions } from './options.js';

function problem(input: unknown): MittoValidationError {
  try {
    resolveClientOptions(input);
  } catch (error) {
    return error as MittoValidationError;
  }
  throw new Error('expected invalid options');
}

describe('client options', () => {
  it('applies the documented defaults', () => {
    const options = resolveClientOptions({ apiKey: 'k' });
    expect(options).toMatchObject({
      baseUrl: 'https://messaging.mittoapi.com',
      timeoutMs: 30_000,
      maxRetries: 2,
      connections: 10,
      maxBatchSize: 500,
      sendReference: true,
      backoff: { initialDelayMs: 250, maxDelayMs: 5_000, factor: 2, maxRetryAfterMs: 30_000 },
    });
  });

  it.each([
    [{ apiKey: 'k', maxBatchSize: 1001 }, 'maxBatchSize'],
    [{ apiKey: 'k', maxBatchSize: 0 }, 'maxBatchSize'],
    [{ apiKey: '' }, 'apiKey'],
    [{}, 'apiKey'],
    [{ apiKey: 'k', baseUrl: 'not a url' }, 'baseUrl'],
    [{ apiKey: 'k', baseUrl: 'ftp://mitto.example' }, 'baseUrl'],
    [{ apiKey: 'k', timeoutMs: 0 }, 'timeoutMs'],
    [{ apiKey: 'k', connections: 1.5 }, 'connections'],
    [{ apiKey: 'k', maxRetries: -1 }, 'maxRetries'],
    [{ apiKey: 'k', sendReference: 'yes' }, 'sendReference'],
    [{ apiKey: 'k', logger: console }, 'logger'],
    [{ apiKey: 'k', backoff: { factor: 0.5 } }, 'backoff.factor'],
    [{ apiKey: 'k', dispatcher: {} }, 'dispatcher'],
  ])('%j is refused naming %s', (input, name) => {
    const error = problem(input);
    expect(error).toBeInstanceOf(MittoValidationError);
    expect(error.issues.map((issue) => issue.path.join('.'))).toContain(name);
    expect(error.message).toContain(name);
  });

  it('refuses unknown options (strict), at the top and inside backoff', () => {
    expect(problem({ apiKey: 'k', apikey: 'typo' }).message).toContain('apikey');
    expect(problem({ apiKey: 'k', backoff: { jitter: true } }).message).toContain('jitter');
  });

  it('clamps contradictory values with a warning', () => {
    const warnings: unknown[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: (object) => warnings.push(object),
      error: () => {},
      child: () => logger,
    };
    const options = resolveClientOptions({
      apiKey: 'k',
      timeoutMs: 1000,
      connectTimeoutMs: 5000,
      backoff: { initialDelayMs: 900, maxDelayMs: 100 },
      logger,
    });
    expect(options.connectTimeoutMs).toBe(1000);
    expect(options.backoff.initialDelayMs).toBe(100);
    expect(warnings).toHaveLength(2);
  });
});
