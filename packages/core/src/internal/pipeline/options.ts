// The pipeline's tunables: one strict zod schema, defaults in one place next to each field.
// `pipelineOptionsFromConfig` maps the env-style config (USE_BULK_SMS, SMS_BATCH_SIZE, ...) onto it.

import { z } from 'zod';
import type { SmsConfig } from '../config.js';
import { parseInput } from '../validation.js';

const positiveInt = z.number().int().positive();
const ms = z.number().int().nonnegative();

export const pipelineOptionsSchema = z
  .object({
    /** `USE_BULK_SMS`: one bulk call per batch; false sends one job and one call per message. */
    useBulk: z.boolean().default(true),
    /** `SMS_BATCH_SIZE`: fixed batch size (1–1,000); absent, 100–500 by campaign size. */
    batchSize: z.number().int().min(1).max(1000).optional(),
    /** Batches of one campaign released into the queue at once (two-tier batching). */
    batchWindow: positiveInt.default(8),
    /** Queued messages the planner cuts per chunk, in whole batches. */
    planChunkBatches: positiveInt.default(10),
    /** How many recipients the planner reads per store call. */
    planReadSize: positiveInt.default(2000),
    /** How long a claim protects messages in `sending`; past it they become `unknown`. */
    leaseMs: positiveInt.default(5 * 60_000),
    /** `unknown` messages with no delivery report after this become `failed` (`unconfirmed`). */
    unconfirmedAfterMs: positiveInt.default(6 * 60 * 60_000),
    /** Send attempts per message for transient provider errors before it fails for good. */
    maxSendAttempts: positiveInt.default(5),
    /** Backoff between transient retries of a batch: capped exponential with full jitter. */
    retryBaseMs: ms.default(1_000),
    retryMaxMs: ms.default(60_000),
    /** Weigh the traffic-account limiter by segments instead of messages. */
    rateBySegments: z.boolean().default(false),
    /** `CREDIT_PRICING`. */
    pricing: z.enum(['per-message', 'per-segment']).default('per-message'),
    /** Replace curly quotes, dashes and Latin look-alike Greek capitals to stay in GSM-7. */
    smartEncoding: z.boolean().default(false),
    /** `MITTO_SENDER`: last fallback of sender resolution. */
    defaultSender: z.string().min(1).optional(),
    /** `MITTO_TRAFFIC_ACCOUNT_ID`: last fallback of the traffic account. */
    defaultTrafficAccountId: z.string().min(1).optional(),
    /** `PHONE_DEFAULT_COUNTRY`: country of numbers given without an international prefix. */
    defaultCountry: z.string().length(2).optional(),
    /** A queued or sending batch untouched this long is checked for a lost job. */
    staleAfterMs: positiveInt.default(60_000),
    /** Delivery events still unmatched after this are retried by the reconciler. */
    pendingEventRetryMs: positiveInt.default(5_000),
    /** Status refresh: look up `sent` messages with no final report after this... */
    refreshAfterMs: positiveInt.default(15 * 60_000),
    /** ...again at most this often... */
    refreshEveryMs: positiveInt.default(60 * 60_000),
    /** ...and at most this many times. */
    maxLookups: positiveInt.default(3),
    /** Lookups in flight at once. */
    lookupConcurrency: positiveInt.default(8),
    /** Messages handled per maintenance query. */
    scanLimit: positiveInt.default(1000),
  })
  .strict();

export type PipelineOptions = z.input<typeof pipelineOptionsSchema>;
export type ResolvedPipelineOptions = z.output<typeof pipelineOptionsSchema>;

export function resolvePipelineOptions(options: PipelineOptions = {}): ResolvedPipelineOptions {
  return parseInput(pipelineOptionsSchema, options);
}

/** The options `loadConfig`'s settings imply; `extra` (tuning the config does not name) wins. */
export function pipelineOptionsFromConfig(
  config: SmsConfig,
  extra: PipelineOptions = {},
): PipelineOptions {
  return {
    useBulk: config.USE_BULK_SMS,
    pricing: config.CREDIT_PRICING,
    ...(config.SMS_BATCH_SIZE ? { batchSize: config.SMS_BATCH_SIZE } : {}),
    ...(config.MITTO_SENDER ? { defaultSender: config.MITTO_SENDER } : {}),
    ...(config.MITTO_TRAFFIC_ACCOUNT_ID
      ? { defaultTrafficAccountId: config.MITTO_TRAFFIC_ACCOUNT_ID }
      : {}),
    ...(config.PHONE_DEFAULT_COUNTRY ? { defaultCountry: config.PHONE_DEFAULT_COUNTRY } : {}),
    ...extra,
  };
}
