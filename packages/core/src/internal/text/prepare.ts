// Turns a campaign's template into the exact text one recipient gets, and what it costs: vars
// rendered, the unsubscribe link appended once, segments counted. Also picks and checks the
// sender. Everything here is deterministic, so planning a recipient twice yields the same text.

import type { Encoding } from '../domain/types.js';
import { ValidationError } from '../errors.js';
import { countSegments } from './segments.js';
import type { CompiledTemplate, TemplateVars } from './template.js';

export {
  type CompiledTemplate,
  compileTemplate,
  type TemplateVars,
  validateTemplate,
} from './template.js';

export type CreditPricing = 'per-message' | 'per-segment';

const ALPHANUMERIC_SENDER = /^[A-Za-z0-9 ]{3,11}$/;
const NUMERIC_SENDER = /^\+?[0-9]{1,16}$/;

/** Mitto's sender rules: 3–11 letters, digits or spaces (not only spaces), or up to 16 digits. */
export function isValidSender(sender: string): boolean {
  return NUMERIC_SENDER.test(sender) || (ALPHANUMERIC_SENDER.test(sender) && sender.trim() !== '');
}

/**
 * The first sender given, in order of precedence (message, campaign, owner, config), trimmed.
 * A blank candidate counts as not given; the first real one must be valid, and we do not fall
 * through to the next: a typo in the campaign's sender must not silently send as the owner's.
 */
export function resolveSender(
  candidates: readonly (string | null | undefined)[],
  path: (string | number)[] = ['sender'],
): string {
  for (const candidate of candidates) {
    const sender = candidate?.trim();
    if (!sender) continue;
    if (isValidSender(sender)) return sender;
    throw new ValidationError([
      {
        path,
        message: `invalid sender "${sender}": use 3-11 letters, digits or spaces, or up to 16 digits with an optional leading +`,
      },
    ]);
  }
  throw new ValidationError([
    { path, message: 'no sender given (message, campaign, owner or MITTO_SENDER)' },
  ]);
}

// Characters that may continue a URL: when one follows an occurrence of the link, that
// occurrence is a longer URL (`…/u/42` inside `…/u/421`), not the link itself.
const URL_CONTINUATION = new Set(
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~/?#&=%+',
);

/**
 * Appends `link` on its own line unless the text already contains it, so appending twice is
 * appending once. A newline costs the same single septet as a space and keeps the link clear
 * of the last word's punctuation. Trailing whitespace of the text is dropped first.
 */
export function appendLink(text: string, link: string | null | undefined): string {
  const url = link?.trim();
  if (!url || containsLink(text, url)) return text;
  const body = text.trimEnd();
  return body === '' ? url : `${body}\n${url}`;
}

function containsLink(text: string, url: string): boolean {
  for (let at = text.indexOf(url); at !== -1; at = text.indexOf(url, at + 1)) {
    const next = text[at + url.length];
    if (next === undefined || !URL_CONTINUATION.has(next)) return true;
  }
  return false;
}

export interface PrepareMessageInput {
  template: CompiledTemplate;
  vars?: TemplateVars;
  /** The recipient's unsubscribe or tracking link; none when null or empty. */
  link?: string | null;
  pricing: CreditPricing;
  smartEncoding?: boolean;
}

export interface PreparedMessage {
  text: string;
  encoding: Encoding;
  segments: number;
  /** Credits the message costs: 1, or its segments under per-segment pricing. */
  cost: number;
}

export function prepareMessage(input: PrepareMessageInput): PreparedMessage {
  const rendered = appendLink(input.template(input.vars), input.link);
  const { text, encoding, segments } = countSegments(rendered, {
    smartEncoding: input.smartEncoding,
  });
  return { text, encoding, segments, cost: input.pricing === 'per-segment' ? segments : 1 };
}
