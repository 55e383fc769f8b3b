// Delivery reports (DLR webhooks) in every shape Mitto is known to send, parsed into core's
// DeliveryEvent. Nothing here throws on bad input: a webhook needs to know what it could read,
// what carried no news, and what was garbage, so it can answer 400 only when nothing was read.

import type { DeliveryEvent } from '@smsbatch/core';
import { toDeliveryState } from './delivery-status.js';
import { parseTime } from './time.js';

/** A readable report, with where it sat in the body and the item as received (for storage). */
export interface ParsedDeliveryEvent extends DeliveryEvent {
  index: number;
  raw: unknown;
}

/** A readable report that moves nothing: `Queued`, or a status this client does not know. */
export interface NoNewsReport {
  index: number;
  providerMessageId: string | null;
  reference: string | null;
  providerStatus: string;
  occurredAt: number | null;
  raw: unknown;
}

export interface UnreadableReport {
  index: number;
  reason: string;
  raw: unknown;
}

export interface DeliveryReportBatch {
  events: ParsedDeliveryEvent[];
  noNews: NoNewsReport[];
  unreadable: UnreadableReport[];
}

export interface ParseDeliveryReportsOptions {
  /** Items beyond this are reported as one unreadable entry instead of parsed. Default 10,000. */
  maxItems?: number;
}

export type DeliveryReportInput =
  | string
  | Uint8Array
  | URLSearchParams
  | Record<string, unknown>
  | readonly unknown[]
  | null
  | undefined;

// Field spellings, lower-cased: the JSON form first, then the older form-encoded one.
const ID_KEYS = ['messageid', 'msgid', 'message_id'];
const STATUS_KEYS = ['deliverystatus', 'status', 'delivery_status'];
const REFERENCE_KEYS = ['reference'];
const REASON_KEYS = ['description', 'error', 'errorcode', 'error_code'];
const TIME_KEYS = ['updatedat', 'timestamp', 'updated_at'];

export function parseDeliveryReports(
  input: DeliveryReportInput | unknown,
  options: ParseDeliveryReportsOptions = {},
): DeliveryReportBatch {
  const maxItems = options.maxItems ?? 10_000;
  const batch: DeliveryReportBatch = { events: [], noNews: [], unreadable: [] };
  const decoded = decode(input);
  if ('error' in decoded) {
    batch.unreadable.push({ index: 0, reason: decoded.error, raw: input });
    return batch;
  }
  const items = decoded.items;
  const count = Math.min(items.length, maxItems);
  for (let index = 0; index < count; index++) {
    readItem(items[index], index, batch);
  }
  if (items.length > maxItems) {
    batch.unreadable.push({
      index: maxItems,
      reason: `${items.length - maxItems} items beyond maxItems (${maxItems}) were not read`,
      raw: null,
    });
  }
  return batch;
}

function decode(input: unknown): { items: readonly unknown[] } | { error: string } {
  if (input instanceof Uint8Array) {
    return decodeText(
      Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8'),
    );
  }
  if (typeof input === 'string') {
    return decodeText(input);
  }
  if (input instanceof URLSearchParams) {
    return { items: [fromSearchParams(input)] };
  }
  if (Array.isArray(input)) {
    return input.length === 0 ? { error: 'empty array' } : { items: input };
  }
  if (input !== null && typeof input === 'object') {
    return { items: [input] };
  }
  return { error: `expected an object, an array, JSON or form data, got ${describe(input)}` };
}

function decodeText(text: string): { items: readonly unknown[] } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') {
    return { error: 'empty body' };
  }
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (error) {
      return { error: `invalid JSON: ${(error as Error).message}` };
    }
    return decode(json);
  }
  // A GET query (`?msgid=...`) or a form-encoded POST body.
  return { items: [fromSearchParams(new URLSearchParams(trimmed))] };
}

function fromSearchParams(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of params) {
    if (!(key in out)) {
      out[key] = value;
    }
  }
  return out;
}

function readItem(raw: unknown, index: number, batch: DeliveryReportBatch): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    batch.unreadable.push({ index, reason: `item is ${describe(raw)}, not an object`, raw });
    return;
  }
  const fields = lowerCaseFields(raw as Record<string, unknown>);
  const providerMessageId = pick(fields, ID_KEYS);
  const reference = pick(fields, REFERENCE_KEYS);
  const providerStatus = pick(fields, STATUS_KEYS);
  if (providerMessageId === null && reference === null) {
    batch.unreadable.push({ index, reason: 'no messageId, msgid or reference', raw });
    return;
  }
  if (providerStatus === null) {
    batch.unreadable.push({ index, reason: 'no deliveryStatus or status', raw });
    return;
  }
  const time = pickRaw(fields, TIME_KEYS);
  const occurredAt = typeof time === 'string' || typeof time === 'number' ? parseTime(time) : null;
  const state = toDeliveryState(providerStatus);
  if (state === null) {
    batch.noNews.push({ index, providerMessageId, reference, providerStatus, occurredAt, raw });
    return;
  }
  batch.events.push({
    index,
    raw,
    providerMessageId,
    reference,
    state,
    providerStatus,
    reason: state === 'failed' ? (pick(fields, REASON_KEYS) ?? providerStatus) : null,
    occurredAt,
  });
}

function lowerCaseFields(record: Record<string, unknown>): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  for (const key of Object.keys(record)) {
    const lower = key.toLowerCase();
    if (!fields.has(lower)) {
      fields.set(lower, record[key]);
    }
  }
  return fields;
}

function first(value: unknown): unknown {
  // Query parsers turn a repeated key into an array; the first value counts.
  return Array.isArray(value) ? value[0] : value;
}

function pickRaw(fields: Map<string, unknown>, keys: readonly string[]): unknown {
  for (const key of keys) {
    const value = first(fields.get(key));
    if (value !== undefined && value !== null && value !== '') {
      return value;
    }
  }
  return undefined;
}

/** The first non-blank text (or finite number, as text) among `keys`. */
function pick(fields: Map<string, unknown>, keys: readonly string[]): string | null {
  for (const key of keys) {
    const value = first(fields.get(key));
    if (typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed !== '') {
        return trimmed;
      }
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      return String(value);
    }
  }
  return null;
}

function describe(value: unknown): string {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  return typeof value;
}
