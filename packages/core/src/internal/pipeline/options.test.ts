import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config.js';
import { pipelineOptionsFromConfig, resolvePipelineOptions } from './options.js';

describe('pipelineOptionsFromConfig', () => {
  it('maps the settings the config names onto pipeline options', () => {
    const config = parseConfig({
      USE_BULK_SMS: 'false',
      SMS_BATCH_SIZE: '250',
      CREDIT_PRICING: 'per-segment',
      MITTO_SENDER: 'Shop',
      MITTO_TRAFFIC_ACCOUNT_ID: 'ta-1',
      PHONE_DEFAULT_COUNTRY: 'GR',
    });
    expect(pipelineOptionsFromConfig(config)).toEqual({
      useBulk: false,
      batchSize: 250,
      pricing: 'per-segment',
      defaultSender: 'Shop',
      defaultTrafficAccountId: 'ta-1',
      defaultCountry: 'GR',
    });
  });

  it('leaves unset settings to the pipeline defaults, and lets extra options win', () => {
    const options = pipelineOptionsFromConfig(parseConfig({}), { batchWindow: 2, useBulk: false });
    expect(options).toEqual({ useBulk: false, pricing: 'per-message', batchWindow: 2 });
    expect(resolvePipelineOptions(options).batchSize).toBeUndefined();
  });
});
