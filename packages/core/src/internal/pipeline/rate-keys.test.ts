import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { lookupKey, ownerKey, rateLimitsFromConfig, trafficAccountKey } from './rate-keys.js';

describe('rateLimitsFromConfig', () => {
  it('limits every traffic account by default, overrides per account, owners when asked', () => {
    const limits = rateLimitsFromConfig(
      loadConfig({
        TRAFFIC_ACCOUNT_RATE_MAX: '100',
        TRAFFIC_ACCOUNT_RATE_OVERRIDES: '{"slow":{"max":5,"durationMs":2000}}',
        OWNER_RATE_MAX: '20',
      }),
    );
    expect(limits(trafficAccountKey('any'))).toEqual({ max: 100, durationMs: 1000 });
    expect(limits(trafficAccountKey('slow'))).toEqual({ max: 5, durationMs: 2000 });
    expect(limits(lookupKey('slow'))).toEqual({ max: 5, durationMs: 2000 });
    expect(limits(ownerKey('o-1'))).toEqual({ max: 20, durationMs: 1000 });
    expect(limits('something-else')).toBeNull();
  });

  it('leaves accounts and owners unlimited when nothing is configured', () => {
    const limits = rateLimitsFromConfig(loadConfig({}));
    expect(limits(trafficAccountKey('ta'))).toBeNull();
    expect(limits(ownerKey('o'))).toBeNull();
  });
});
