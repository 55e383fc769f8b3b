import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from './config.js';
import { ConfigError } from './errors.js';

const issuesOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    expect(loadConfig({})).toEqual({
      USE_BULK_SMS: true,
      WORKER_CONCURRENCY: 5,
      QUEUE_RATE_MAX: 50,
      QUEUE_RATE_DURATION_MS: 1000,
      TRAFFIC_ACCOUNT_RATE_DURATION_MS: 1000,
      TRAFFIC_ACCOUNT_RATE_OVERRIDES: undefined,
      OWNER_RATE_DURATION_MS: 1000,
      CREDIT_PRICING: 'per-message',
      PORT: 3000,
    });
  });

  it('reads and coerces every variable', () => {
    const config = loadConfig({
      USE_BULK_SMS: 'no',
      SMS_BATCH_SIZE: ' 250 ',
      WORKER_CONCURRENCY: '8',
      QUEUE_RATE_MAX: '100',
      QUEUE_RATE_DURATION_MS: '2000',
      TRAFFIC_ACCOUNT_RATE_MAX: '30',
      TRAFFIC_ACCOUNT_RATE_DURATION_MS: '500',
      TRAFFIC_ACCOUNT_RATE_OVERRIDES: '{"ta-1":{"max":10},"ta-2":{"max":5,"durationMs":2000}}',
      OWNER_RATE_MAX: '10',
      OWNER_RATE_DURATION_MS: '1500',
      MITTO_API_BASE: 'http://localhost:4010/',
      MITTO_API_KEY: 'key',
      MITTO_TRAFFIC_ACCOUNT_ID: 'ta-1',
      MITTO_SENDER: 'My Shop',
      WEBHOOK_SECRET: 'secret',
      REDIS_URL: 'redis://localhost:6379/0',
      DATABASE_URL: 'postgres://sms:sms@localhost:5432/sms',
      CREDIT_PRICING: 'per-segment',
      PHONE_DEFAULT_COUNTRY: 'gr',
      PORT: '0',
    });
    expect(config).toEqual({
      USE_BULK_SMS: false,
      SMS_BATCH_SIZE: 250,
      WORKER_CONCURRENCY: 8,
      QUEUE_RATE_MAX: 100,
      QUEUE_RATE_DURATION_MS: 2000,
      TRAFFIC_ACCOUNT_RATE_MAX: 30,
      TRAFFIC_ACCOUNT_RATE_DURATION_MS: 500,
      TRAFFIC_ACCOUNT_RATE_OVERRIDES: {
        'ta-1': { max: 10, durationMs: 500 },
        'ta-2': { max: 5, durationMs: 2000 },
      },
      OWNER_RATE_MAX: 10,
      OWNER_RATE_DURATION_MS: 1500,
      MITTO_API_BASE: 'http://localhost:4010',
      MITTO_API_KEY: 'key',
      MITTO_TRAFFIC_ACCOUNT_ID: 'ta-1',
      MITTO_SENDER: 'My Shop',
      WEBHOOK_SECRET: 'secret',
      REDIS_URL: 'redis://localhost:6379/0',
      DATABASE_URL: 'postgres://sms:sms@localhost:5432/sms',
      CREDIT_PRICING: 'per-segment',
      PHONE_DEFAULT_COUNTRY: 'GR',
      PORT: 0,
    });
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['No', false],
  ])('reads USE_BULK_SMS=%s as %s', (value, expected) => {
    expect(loadConfig({ USE_BULK_SMS: value }).USE_BULK_SMS).toBe(expected);
  });

  it('treats empty values as unset and ignores variables that are not ours', () => {
    const config = loadConfig({ SMS_BATCH_SIZE: '', REDIS_URL: '  ', HOME: '/root', PATH: '/bin' });
    expect(config.SMS_BATCH_SIZE).toBeUndefined();
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('names each bad variable with the reason', () => {
    const issues = issuesOf(() =>
      loadConfig({
        USE_BULK_SMS: 'maybe',
        SMS_BATCH_SIZE: '5000',
        WORKER_CONCURRENCY: '0',
        QUEUE_RATE_MAX: '1.5',
        MITTO_API_BASE: 'ftp://mitto',
        REDIS_URL: 'localhost:6379',
        MITTO_SENDER: 'Way too long sender',
        CREDIT_PRICING: 'free',
        PHONE_DEFAULT_COUNTRY: 'XX',
        PORT: '70000',
      }),
    );
    expect(issues).toEqual([
      { path: ['USE_BULK_SMS'], message: 'must be true, false, 1, 0, yes or no' },
      { path: ['SMS_BATCH_SIZE'], message: 'must be an integer from 1 to 1000' },
      { path: ['WORKER_CONCURRENCY'], message: 'must be a positive integer' },
      { path: ['QUEUE_RATE_MAX'], message: 'must be a positive integer' },
      { path: ['MITTO_API_BASE'], message: 'must be an http or https URL' },
      {
        path: ['MITTO_SENDER'],
        message:
          'must be 3-11 letters, digits or spaces, or up to 16 digits with an optional leading +',
      },
      { path: ['REDIS_URL'], message: 'must be a redis:// or rediss:// URL' },
      { path: ['CREDIT_PRICING'], message: 'must be per-message or per-segment' },
      {
        path: ['PHONE_DEFAULT_COUNTRY'],
        message: 'must be an ISO 3166 country code with a phone numbering plan, e.g. GR',
      },
      { path: ['PORT'], message: 'must be an integer from 0 to 65535' },
    ]);
  });

  it('rejects an unknown variable with one of our prefixes, suggesting the likely name', () => {
    expect(
      issuesOf(() =>
        loadConfig({ SMS_BACTH_SIZE: '100', MITTO_SENDR: 'Shop', QUEUE_FOO_BAR_BAZ: '1' }),
      ),
    ).toEqual([
      { path: ['SMS_BACTH_SIZE'], message: 'unknown setting; did you mean SMS_BATCH_SIZE?' },
      { path: ['MITTO_SENDR'], message: 'unknown setting; did you mean MITTO_SENDER?' },
      { path: ['QUEUE_FOO_BAR_BAZ'], message: 'unknown setting' },
    ]);
  });

  it('reports malformed rate overrides down to the field', () => {
    expect(issuesOf(() => loadConfig({ TRAFFIC_ACCOUNT_RATE_OVERRIDES: '{"ta-1":' }))).toEqual([
      { path: ['TRAFFIC_ACCOUNT_RATE_OVERRIDES'], message: 'must be valid JSON' },
    ]);
    expect(
      issuesOf(() => loadConfig({ TRAFFIC_ACCOUNT_RATE_OVERRIDES: '{"ta-1":{"max":0,"rate":3}}' })),
    ).toEqual([
      {
        path: ['TRAFFIC_ACCOUNT_RATE_OVERRIDES', 'ta-1', 'max'],
        message: 'must be a positive integer',
      },
      { path: ['TRAFFIC_ACCOUNT_RATE_OVERRIDES', 'ta-1', 'rate'], message: 'unknown key' },
    ]);
    expect(issuesOf(() => loadConfig({ TRAFFIC_ACCOUNT_RATE_OVERRIDES: '[1]' }))).toEqual([
      {
        path: ['TRAFFIC_ACCOUNT_RATE_OVERRIDES'],
        message: 'must be an object { "<trafficAccountId>": { "max": n, "durationMs": n } }',
      },
    ]);
  });

  it('puts the variable name in the error message', () => {
    expect(() => loadConfig({ WORKER_CONCURRENCY: 'five' })).toThrow(
      'invalid configuration: WORKER_CONCURRENCY: must be a positive integer',
    );
  });
});

describe('parseConfig', () => {
  it('takes typed values and rejects unknown keys', () => {
    expect(parseConfig({ USE_BULK_SMS: false, SMS_BATCH_SIZE: 100 })).toMatchObject({
      USE_BULK_SMS: false,
      SMS_BATCH_SIZE: 100,
    });
    expect(issuesOf(() => parseConfig({ PORTT: 3000 } as never))).toEqual([
      { path: ['PORTT'], message: 'unknown setting; did you mean PORT?' },
    ]);
  });

  it('accepts its own output', () => {
    const config = loadConfig({
      TRAFFIC_ACCOUNT_RATE_OVERRIDES: '{"ta-1":{"max":10}}',
      MITTO_SENDER: 'Shop',
    });
    expect(parseConfig(config)).toEqual(config);
  });
});
