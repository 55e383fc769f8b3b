// The SDK's settings, one zod schema keyed by the environment variable names the seed used.
// Defaults live here and nowhere else; `loadConfig` reads them from the environment and treats a
// misspelt variable as an error, because a silently ignored rate limit or batch size costs money.

import { type CountryCode, isSupportedCountry } from 'libphonenumber-js/max';
import * as z from 'zod';
import { ConfigError, type ValidationIssue } from './errors.js';
import { isValidSender } from './text/prepare.js';

const BOOLEAN_WORDS = new Map([
  ['true', true],
  ['1', true],
  ['yes', true],
  ['false', false],
  ['0', false],
  ['no', false],
]);

// Env values arrive as strings; programmatic callers may pass the real type. Strings that do not
// read as the type are passed on unchanged so the schema reports them with its own message.
const flag = () =>
  z.preprocess(
    (value) =>
      typeof value === 'string' ? (BOOLEAN_WORDS.get(value.trim().toLowerCase()) ?? value) : value,
    z.boolean({ error: 'must be true, false, 1, 0, yes or no' }),
  );

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error =
    max !== Number.MAX_SAFE_INTEGER
      ? `must be an integer from ${min} to ${max}`
      : min === 1
        ? 'must be a positive integer'
        : `must be an integer of at least ${min}`;
  return z.preprocess(
    (value) => (typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value),
    z.number({ error }).int({ error }).min(min, { error }).max(max, { error }),
  );
};

const url = (protocol: RegExp, error: string) => z.url({ protocol, error });

const nonEmpty = () =>
  z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' });

const rateOverrides = z.preprocess(
  (value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value);
    } catch {
      ctx.issues.push({ code: 'custom', input: value, message: 'must be valid JSON' });
      return z.NEVER;
    }
  },
  z.record(
    z.string().min(1),
    z.strictObject({ max: integer(1), durationMs: integer(1).optional() }),
    { error: 'must be an object { "<trafficAccountId>": { "max": n, "durationMs": n } }' },
  ),
);

const fields = {
  /** `true`: one bulk call per batch. `false`: the seed's fallback, one call per message. */
  USE_BULK_SMS: flag().default(true),
  /** Messages per bulk call, 1–1,000. Unset: dynamic, 100–500 by campaign size. */
  SMS_BATCH_SIZE: integer(1, 1000).optional(),
  /** Jobs one worker process runs at once. */
  WORKER_CONCURRENCY: integer(1).default(5),
  /** Queue-wide limiter: at most this many jobs per `QUEUE_RATE_DURATION_MS`. */
  QUEUE_RATE_MAX: integer(1).default(50),
  QUEUE_RATE_DURATION_MS: integer(1).default(1000),
  /** Messages per window for every traffic account. Unset: no per-account limit. */
  TRAFFIC_ACCOUNT_RATE_MAX: integer(1).optional(),
  TRAFFIC_ACCOUNT_RATE_DURATION_MS: integer(1).default(1000),
  /**
   * Per traffic account limits that replace `TRAFFIC_ACCOUNT_RATE_MAX`, as JSON:
   * `{ "<trafficAccountId>": { "max": 20, "durationMs": 1000 } }`. A missing `durationMs`
   * takes `TRAFFIC_ACCOUNT_RATE_DURATION_MS`.
   */
  TRAFFIC_ACCOUNT_RATE_OVERRIDES: rateOverrides.optional(),
  /** Messages per window for one owner on a shared traffic account. Unset: no per-owner limit. */
  OWNER_RATE_MAX: integer(1).optional(),
  OWNER_RATE_DURATION_MS: integer(1).default(1000),
  /** Unset: the client's default, Mitto's production API (the example server starts a fake). */
  MITTO_API_BASE: url(/^https?$/, 'must be an http or https URL')
    .transform((base) => base.replace(/\/+$/, ''))
    .optional(),
  MITTO_API_KEY: nonEmpty().optional(),
  /** Used when neither the campaign nor its owner names a traffic account. */
  MITTO_TRAFFIC_ACCOUNT_ID: nonEmpty().optional(),
  /** Last resort sender, after the message's, the campaign's and the owner's. */
  MITTO_SENDER: nonEmpty()
    .refine(isValidSender, {
      error:
        'must be 3-11 letters, digits or spaces, or up to 16 digits with an optional leading +',
    })
    .optional(),
  /** Shared secret of the DLR webhook (`X-Webhook-Token`). */
  WEBHOOK_SECRET: nonEmpty().optional(),
  /** Unset: in-process queue and limiter. */
  REDIS_URL: url(/^rediss?$/, 'must be a redis:// or rediss:// URL').optional(),
  /** Unset: in-memory store and ledger. */
  DATABASE_URL: url(/^postgres(ql)?$/, 'must be a postgres:// or postgresql:// URL').optional(),
  /** What a message costs in credits: always 1, or its segment count. */
  CREDIT_PRICING: z
    .enum(['per-message', 'per-segment'], { error: 'must be per-message or per-segment' })
    .default('per-message'),
  /** ISO 3166 country of phone numbers written without an international prefix. */
  PHONE_DEFAULT_COUNTRY: z
    .string()
    .trim()
    .toUpperCase()
    .pipe(
      z.custom<CountryCode>((code) => typeof code === 'string' && isSupportedCountry(code), {
        error: 'must be an ISO 3166 country code with a phone numbering plan, e.g. GR',
      }),
    )
    .optional(),
  /** HTTP port of the example server; 0 picks a free one. */
  PORT: integer(0, 65535).default(3000),
};

export const smsConfigSchema = z
  .strictObject(fields)
  .transform(({ TRAFFIC_ACCOUNT_RATE_OVERRIDES, ...config }) => ({
    ...config,
    TRAFFIC_ACCOUNT_RATE_OVERRIDES:
      TRAFFIC_ACCOUNT_RATE_OVERRIDES &&
      Object.fromEntries(
        Object.entries(TRAFFIC_ACCOUNT_RATE_OVERRIDES).map(([id, limit]) => [
          id,
          {
            max: limit.max,
            durationMs: limit.durationMs ?? config.TRAFFIC_ACCOUNT_RATE_DURATION_MS,
          },
        ]),
      ),
  }));

export type SmsConfig = z.output<typeof smsConfigSchema>;
export type SmsConfigInput = z.input<typeof smsConfigSchema>;

const KNOWN_NAMES: ReadonlySet<string> = new Set(Object.keys(fields));
/** Variables starting with these belong to us: an unknown one is a typo, not someone else's. */
const RESERVED_PREFIXES = [
  'SMS_',
  'MITTO_',
  'QUEUE_',
  'TRAFFIC_ACCOUNT_',
  'OWNER_RATE_',
  'WORKER_',
  'CREDIT_',
];

/**
 * Reads the settings from `env`. Values are trimmed and a blank one counts as unset. Throws
 * `ConfigError` naming every bad variable, including unknown ones with one of our prefixes.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): SmsConfig {
  const picked: Record<string, string> = {};
  const unknown: ValidationIssue[] = [];
  for (const [name, raw] of Object.entries(env)) {
    const value = raw?.trim();
    if (!value) continue;
    if (KNOWN_NAMES.has(name)) picked[name] = value;
    else if (RESERVED_PREFIXES.some((prefix) => name.startsWith(prefix))) {
      unknown.push({ path: [name], message: unknownNameMessage(name) });
    }
  }
  return parse(picked, unknown);
}

/** Validates settings given as an object (keys are the variable names); unknown keys are errors. */
export function parseConfig(input: SmsConfigInput): SmsConfig {
  return parse(input, []);
}

function parse(input: unknown, issues: ValidationIssue[]): SmsConfig {
  const result = smsConfigSchema.safeParse(input);
  if (result.success && issues.length === 0) return result.data;
  for (const issue of result.error?.issues ?? []) {
    const path = issue.path.map((part) => (typeof part === 'number' ? part : String(part)));
    if (issue.code !== 'unrecognized_keys') issues.push({ path, message: issue.message });
    else {
      for (const key of issue.keys) {
        const message = path.length === 0 ? unknownNameMessage(key) : 'unknown key';
        issues.push({ path: [...path, key], message });
      }
    }
  }
  throw new ConfigError(issues);
}

function unknownNameMessage(name: string): string {
  let best: string | undefined;
  let bestDistance = 4;
  for (const known of KNOWN_NAMES) {
    const distance = editDistance(name, known);
    if (distance < bestDistance) {
      best = known;
      bestDistance = distance;
    }
  }
  return best ? `unknown setting; did you mean ${best}?` : 'unknown setting';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
