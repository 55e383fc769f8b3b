// Turns the phone numbers an app hands over into the E.164 form Mitto expects (`+306912345678`),
// or says why a number cannot be sent to. The planner calls it once per recipient, so options
// are resolved once in `createPhoneNormalizer` and nothing is cached per number.

// `max` metadata: with `min`, `isValid()` only checks the length, and a number of the right
// length that no operator ever assigned (`+30 1234567890`) would pass and be billed to fail.
// Valid means any assigned type, not only mobile: in the US and Canada numbers are
// FIXED_LINE_OR_MOBILE, and landlines with SMS gateways do exist.
import {
  type CountryCode,
  isSupportedCountry,
  ParseError,
  type PhoneNumber,
  parsePhoneNumberWithError,
  validatePhoneNumberLength,
} from 'libphonenumber-js/max';
import { ValidationError } from '../errors.js';

export type { CountryCode };

export type PhoneRejection =
  | 'empty'
  | 'not_a_number'
  | 'invalid_country'
  | 'too_short'
  | 'too_long'
  | 'invalid';

export type NormalizedPhone = { ok: true; e164: string } | { ok: false; reason: PhoneRejection };

export interface PhoneOptions {
  /** The country of numbers written without an international prefix, e.g. `GR`. */
  defaultCountry?: CountryCode;
}

export type PhoneNormalizer = (input: string) => NormalizedPhone;

/**
 * A normaliser bound to its options. Throws `ValidationError` for a default country
 * libphonenumber does not know: that is a configuration mistake, not a bad recipient.
 */
export function createPhoneNormalizer(options: PhoneOptions = {}): PhoneNormalizer {
  const { defaultCountry } = options;
  if (defaultCountry !== undefined && !isSupportedCountry(defaultCountry)) {
    throw new ValidationError([
      { path: ['defaultCountry'], message: `unknown country code "${defaultCountry}"` },
    ]);
  }
  return (input) => normalize(input, defaultCountry);
}

export function normalizePhone(input: string, options: PhoneOptions = {}): NormalizedPhone {
  return createPhoneNormalizer(options)(input);
}

function normalize(input: string, defaultCountry: CountryCode | undefined): NormalizedPhone {
  const trimmed = input.trim();
  if (trimmed === '') return { ok: false, reason: 'empty' };
  const first = parse(trimmed, defaultCountry);
  if (first.ok) return first;
  // `00` is the international prefix in most of the world; libphonenumber only reads it so when
  // the default country dials that way. Lists exported in Europe use it with any country set.
  if (trimmed.startsWith('00')) {
    const second = parse(`+${trimmed.slice(2)}`, undefined);
    if (second.ok) return second;
  }
  return first;
}

function parse(text: string, defaultCountry: CountryCode | undefined): NormalizedPhone {
  let phone: PhoneNumber;
  try {
    // `extract: false`: the whole input must be the number, not merely contain one.
    phone = parsePhoneNumberWithError(text, { defaultCountry, extract: false });
  } catch (error) {
    if (error instanceof ParseError) return { ok: false, reason: rejectionOf(error.message) };
    throw error;
  }
  // An extension cannot receive an SMS.
  if (phone.isValid() && phone.ext === undefined) return { ok: true, e164: phone.number };
  return { ok: false, reason: rejectionOf(validatePhoneNumberLength(text, defaultCountry)) };
}

function rejectionOf(code: string | undefined): PhoneRejection {
  switch (code) {
    case 'NOT_A_NUMBER':
      return 'not_a_number';
    case 'INVALID_COUNTRY':
      return 'invalid_country';
    case 'TOO_SHORT':
      return 'too_short';
    case 'TOO_LONG':
      return 'too_long';
    default:
      return 'invalid';
  }
}
