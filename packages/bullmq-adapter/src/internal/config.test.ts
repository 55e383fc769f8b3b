// fromConfig: the env names a deployment sets reach the options they are documented to drive.

import { loadConfig, ValidationError } from '@smsbatch/core';
import { describe, expect, it } from 'vitest';
import { fromConfig } from './config.js';

describe('fromConfig', () => {
  it('maps the env settings onto the transport, limiter and worker options', () => {
    const options = fromConfig(
      loadConfig({
        REDIS_URL: 'redis://cache:6380/2',
        WORKER_CONCURRENCY: '8',
        QUEUE_RATE_MAX: '120',
        QUEUE_RATE_DURATION_MS: '2000',
        TRAFFIC_ACCOUNT_RATE_MAX: '30',
        TRAFFIC_ACCOUNT_RATE_OVERRIDES: '{"vip":{"max":90}}',
        OWNER_RATE_MAX: '10',
      }),
    );
    expect(options.transport).toEqual({ connection: 'redis://cache:6380/2' });
    expect(options.workers).toEqual({
      connection: 'redis://cache:6380/2',
      concurrency: 8,
      queueRateLimit: { max: 120, duration: 2000 },
    });
    expect(options.limiter.limits('ta-standard')).toEqual({ max: 30, durationMs: 1000 });
    expect(options.limiter.limits('ta-vip')).toEqual({ max: 90, durationMs: 1000 });
    expect(options.limiter.limits('owner-42')).toEqual({ max: 10, durationMs: 1000 });
  });

  it('needs REDIS_URL', () => {
    expect(() => fromConfig(loadConfig({}))).toThrow(ValidationError);
  });
});
