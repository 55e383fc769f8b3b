import { describe, expect, it } from 'vitest';
import { isValidationError } from '../errors.js';
import { type CountryCode, createPhoneNormalizer, normalizePhone } from './phone.js';

const ok = (e164: string) => ({ ok: true, e164 });
const rejected = (reason: string) => ({ ok: false, reason });

describe('normalizePhone', () => {
  it.each<[string, CountryCode | undefined, string]>([
    ['+30 691 234 5678', undefined, '+306912345678'],
    ['+30-691-234-5678', undefined, '+306912345678'],
    ['00306912345678', 'GR', '+306912345678'],
    ['00306912345678', undefined, '+306912345678'],
    ['0030 691 234 5678', 'US', '+306912345678'],
    ['6912345678', 'GR', '+306912345678'],
    [' 210 123 4567 ', 'GR', '+302101234567'],
    ['+44 7400 123456', undefined, '+447400123456'],
    ['07400 123456', 'GB', '+447400123456'],
    ['00 44 7400 123456', 'GR', '+447400123456'],
    ['(202) 555-0125', 'US', '+12025550125'],
    ['011 44 7400 123456', 'US', '+447400123456'],
    ['+357 96 123456', undefined, '+35796123456'],
    ['99123456', 'CY', '+35799123456'],
    ['+306912345678', 'US', '+306912345678'],
  ])('normalises %j (default country %s) to %s', (input, defaultCountry, e164) => {
    expect(normalizePhone(input, { defaultCountry })).toEqual(ok(e164));
  });

  it.each<[string, CountryCode | undefined, string]>([
    ['', 'GR', 'empty'],
    ['   ', undefined, 'empty'],
    ['abc', 'GR', 'not_a_number'],
    ['call +30 691 234 5678 now', 'GR', 'not_a_number'],
    ['6912345678', undefined, 'invalid_country'],
    ['+999 1234567', undefined, 'invalid_country'],
    ['123', 'GR', 'too_short'],
    ['+30691234567', undefined, 'too_short'],
    ['+30 691 234 5678 999 999', undefined, 'too_long'],
    // The right length, but no Greek number starts with 1; `min` metadata would accept it.
    ['+30 1234567890', undefined, 'invalid'],
    ['+1 (555) 555-0125', undefined, 'invalid'],
    ['+30 691 234 5678 ext. 12', undefined, 'invalid'],
  ])('rejects %j (default country %s) as %s', (input, defaultCountry, reason) => {
    expect(normalizePhone(input, { defaultCountry })).toEqual(rejected(reason));
  });

  it('refuses an unknown default country up front', () => {
    let thrown: unknown;
    try {
      createPhoneNormalizer({ defaultCountry: 'XX' as CountryCode });
    } catch (error) {
      thrown = error;
    }
    expect(isValidationError(thrown) && thrown.issues).toEqual([
      { path: ['defaultCountry'], message: 'unknown country code "XX"' },
    ]);
  });

  it('maps every way of writing a number to one E.164 form, so duplicates collapse', () => {
    const normalize = createPhoneNormalizer({ defaultCountry: 'GR' });
    const forms = ['6912345678', '+30 691 234 5678', '00306912345678', '(691) 234-5678'];
    for (const form of forms) expect(normalize(form)).toEqual(ok('+306912345678'));
  });
});
