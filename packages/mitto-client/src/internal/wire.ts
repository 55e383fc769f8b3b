// Mitto's wire format (see shared/mitto-api.md): paths, the bodies we send and the zod schemas
// the answers must match. Answers are read loosely (unknown fields pass) but every field we use
// is checked, so a contract change shows up as an error instead of a wrong outcome.

import { z } from 'zod';

export const PATHS = {
  send: '/api/v1.1/Messages/send',
  bulk: '/api/v1.1/Messages/sendmessagesbulk',
  lookup: (messageId: string) => `/api/v1.1/Messages/${encodeURIComponent(messageId)}`,
} as const;

export const API_KEY_HEADER = 'x-mitto-api-key';

export interface WireMessage {
  trafficAccountId: string;
  destination: string;
  sms: { text: string; sender: string };
  reference?: string;
}

const optionalText = z.string().nullish();

/** Where a rejected item's reason may sit; Mitto uses all three. */
const reasonFields = {
  error: z.unknown().optional(),
  description: z.unknown().optional(),
  errors: z.unknown().optional(),
};

export const wireResultItemSchema = z
  .object({
    // An item without `messageId` was rejected; an empty id is not an id, so it fails the schema.
    messageId: z.string().min(1).nullish(),
    trafficAccountId: optionalText,
    ...reasonFields,
  })
  .loose();

export type WireResultItem = z.infer<typeof wireResultItemSchema>;

export const sendResponseSchema = z
  .object({
    bulkId: optionalText,
    messages: z.array(wireResultItemSchema),
  })
  .loose();

export type SendResponse = z.infer<typeof sendResponseSchema>;

const isOptionalText = (value: unknown): boolean => value == null || typeof value === 'string';

/**
 * The same contract as `sendResponseSchema`, checked by hand: a 500-item answer passes in a few
 * microseconds and without a copy. The schema still decides (and explains) whenever this says no.
 */
export function looksLikeSendResponse(json: unknown): json is SendResponse {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return false;
  }
  const { bulkId, messages } = json as { bulkId?: unknown; messages?: unknown };
  if (!isOptionalText(bulkId) || !Array.isArray(messages)) {
    return false;
  }
  for (let i = 0; i < messages.length; i++) {
    const item = messages[i] as { messageId?: unknown; trafficAccountId?: unknown } | null;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      return false;
    }
    const id = item.messageId;
    if (!(id == null || (typeof id === 'string' && id.length > 0))) {
      return false;
    }
    if (!isOptionalText(item.trafficAccountId)) {
      return false;
    }
  }
  return true;
}

export const lookupResponseSchema = z
  .object({
    messageId: z.string().min(1),
    trafficAccountId: optionalText,
    deliveryStatus: optionalText,
    description: optionalText,
    reference: optionalText,
    createdAt: optionalText,
    updatedAt: optionalText,
  })
  .loose();

/** What `error`, `description` and `errors` say (Mitto uses all three); `null` when nothing. */
export function readRejectReason(item: WireResultItem): string | null {
  const parts: string[] = [];
  collectText(item.error, parts);
  collectText(item.description, parts);
  collectText(item.errors, parts);
  const unique = [...new Set(parts)];
  return unique.length > 0 ? unique.join('; ') : null;
}

function collectText(value: unknown, into: string[], depth = 0): void {
  if (value == null || depth > 3) {
    return;
  }
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed !== '') {
      into.push(trimmed);
    }
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    into.push(String(value));
  } else if (Array.isArray(value)) {
    for (const entry of value) {
      collectText(entry, into, depth + 1);
    }
  } else if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // `{ message }`, `{ description }`, `{ code, message }` or a field → messages map.
    const direct = record.message ?? record.description ?? record.error;
    if (direct !== undefined) {
      collectText(direct, into, depth + 1);
    } else {
      for (const [key, entry] of Object.entries(record)) {
        const before = into.length;
        collectText(entry, into, depth + 1);
        for (let i = before; i < into.length; i++) {
          into[i] = `${key}: ${into[i]}`;
        }
      }
    }
  }
}

// Reasons that say "try later" rather than "this message is wrong". Mitto documents none, so
// this stays conservative: everything else counts as permanent.
const RETRYABLE_REASON =
  /\b(timeout|timed out|temporar\w*|throttl\w*|rate limit\w*|try again|unavailable|internal error)\b/i;

export const isRetryableReason = (reason: string): boolean => RETRYABLE_REASON.test(reason);
