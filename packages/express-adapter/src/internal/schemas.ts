// The HTTP contract's request shapes. They check what the wire can get wrong (types, unknown
// keys, query strings that are not numbers); the domain rules (phone numbers, template syntax,
// lengths) stay in core, which reports them with the same issue format.

import { MESSAGE_STATUSES } from '@smsbatch/core';
import { z } from 'zod';
import { type ProblemIssue, SmsHttpError } from './problems.js';

const recipient = z.strictObject({
  phone: z.string(),
  contactId: z.string().nullish(),
  vars: z.record(z.string(), z.string()).optional(),
});

export const createCampaignBody = z.strictObject({
  name: z.string(),
  text: z.string(),
  sender: z.string().optional(),
  trafficAccountId: z.string().optional(),
  recipients: z.array(recipient).min(1, { error: 'at least one recipient' }),
});

export const enqueueBody = z.strictObject({
  /** ISO 8601 with a zone (`Z` or an offset): a start time without one is ambiguous. */
  scheduledAt: z.iso.datetime({ offset: true, error: 'an ISO 8601 time with a zone' }).nullish(),
});

export const testMessageBody = z.strictObject({
  to: z.string(),
  text: z.string(),
  sender: z.string().optional(),
});

// Query strings arrive as text (or arrays when a key repeats, which the number check refuses).
const limit = (max: number) =>
  z.coerce
    .number({ error: 'a whole number' })
    .int({ error: 'a whole number' })
    .min(1, { error: `from 1 to ${max}` })
    .max(max, { error: `from 1 to ${max}` })
    .optional();
const cursor = z.string().min(1).max(512).optional();

export const pageQuery = (max: number) => z.strictObject({ limit: limit(max), cursor });

export const messagesQuery = z.strictObject({
  status: z.enum(MESSAGE_STATUSES).optional(),
  limit: limit(500),
  cursor,
});

/** Parses `input` or throws a `validation` problem naming every offending field. */
export function parseRequest<T extends z.ZodType>(
  schema: T,
  input: unknown,
  where: 'body' | 'query',
): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (issue): ProblemIssue => ({
      path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))),
      message: issue.message,
      code: issue.code,
    }),
  );
  const detail = issues
    .map((issue) => `${[where, ...issue.path].join('.')}: ${issue.message}`)
    .join('; ');
  throw new SmsHttpError('validation', detail, { extensions: { issues } });
}
