// The Mitto client: core's SmsProvider port over undici. Every failure becomes a MittoError that
// says whether the messages may have gone out; only failures where nothing went out are retried.

import type {
  BulkSendResult,
  DeliveryState,
  OutboundSms,
  SendOptions,
  SendOutcome,
  SmsProvider,
  ValidationIssue,
} from '@smsbatch/core';
import { Pool } from 'undici';
import type { z } from 'zod';
import { toDeliveryState } from './delivery-status.js';
import {
  MittoAbortError,
  MittoAmbiguousError,
  MittoAuthenticationError,
  MittoConnectionError,
  type MittoError,
  type MittoErrorOptions,
  MittoHttpError,
  MittoInvalidResponseError,
  MittoRateLimitError,
  MittoServerError,
  MittoValidationError,
} from './errors.js';
import {
  type MittoClientOptions,
  type MittoDispatcher,
  type ResolvedMittoClientOptions,
  resolveClientOptions,
} from './options.js';
import { createRedactor, type Redactor } from './redact.js';
import { withRetries } from './retry.js';
import { parseRetryAfter } from './retry-after.js';
import { parseTime } from './time.js';
import { exchange, type HttpAnswer, TransportFailure } from './transport.js';
import { createMessageValidator, type MessageValidator } from './validate.js';
import {
  API_KEY_HEADER,
  isRetryableReason,
  looksLikeSendResponse,
  lookupResponseSchema,
  PATHS,
  readRejectReason,
  sendResponseSchema,
  type WireMessage,
  type WireResultItem,
} from './wire.js';

export interface MittoCallOptions extends SendOptions {
  /** Overrides the client's `timeoutMs` for this call (per attempt). */
  timeoutMs?: number;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
}

/** A lookup answer in core's terms; `state: null` means no news (Queued, or a word we do not know). */
export interface MittoLookupResult {
  providerMessageId: string;
  reference: string | null;
  state: DeliveryState | null;
  providerStatus: string;
  reason: string | null;
  occurredAt: number | null;
}

export interface MittoClient extends SmsProvider {
  sendBulk(messages: readonly OutboundSms[], options?: MittoCallOptions): Promise<BulkSendResult>;
  sendOne(message: OutboundSms, options?: MittoCallOptions): Promise<SendOutcome>;
  /** `null` when Mitto does not know the id (404). */
  lookup(messageId: string, options?: MittoCallOptions): Promise<MittoLookupResult | null>;
  /** Closes the built-in connection pool (a `dispatcher` passed in options is left alone). */
  close(): Promise<void>;
}

export function createMittoClient(options: MittoClientOptions): MittoClient {
  const config = resolveClientOptions(options);
  const redact = createRedactor(config.apiKey);
  const logger = config.logger.child({ component: 'mitto-client' });
  const base = new URL(config.baseUrl);
  const origin = base.origin;
  // A base URL may carry a path prefix (a proxy in front of Mitto).
  const prefix = base.pathname.replace(/\/+$/, '');
  const ownPool = config.dispatcher
    ? null
    : new Pool(origin, {
        connections: config.connections,
        pipelining: 1,
        connectTimeout: config.connectTimeoutMs,
        keepAliveTimeout: 30_000,
      });
  const dispatcher: MittoDispatcher = config.dispatcher ?? ownPool!;
  const postHeaders = {
    [API_KEY_HEADER]: config.apiKey,
    'content-type': 'application/json',
    accept: 'application/json',
  };
  const getHeaders = { [API_KEY_HEADER]: config.apiKey, accept: 'application/json' };
  const validateMessage = createMessageValidator(config);
  let closed = false;

  const call = <T>(
    operation: string,
    callOptions: MittoCallOptions | undefined,
    attempt: (timeoutMs: number, signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> => {
    if (closed) {
      return Promise.reject(new MittoConnectionError('the Mitto client is closed'));
    }
    const timeoutMs = callOptions?.timeoutMs ?? config.timeoutMs;
    const maxRetries = callOptions?.maxRetries ?? config.maxRetries;
    const issues: ValidationIssue[] = [];
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      issues.push({ path: ['options', 'timeoutMs'], message: 'must be a positive integer (ms)' });
    }
    if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) {
      issues.push({ path: ['options', 'maxRetries'], message: 'must be an integer from 0 to 10' });
    }
    if (issues.length > 0) {
      return Promise.reject(new MittoValidationError(issues));
    }
    const signal = callOptions?.signal;
    return withRetries(() => attempt(timeoutMs, signal), {
      maxRetries,
      backoff: config.backoff,
      signal,
      logger,
      operation,
    });
  };

  const post = async (
    path: string,
    body: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<HttpAnswer> => {
    try {
      return await exchange(dispatcher, {
        origin,
        method: 'POST',
        path: prefix + path,
        headers: postHeaders,
        body,
        timeoutMs,
        signal,
      });
    } catch (error) {
      throw sendFailure(error, redact);
    }
  };

  const sendBulk = (
    messages: readonly OutboundSms[],
    callOptions?: MittoCallOptions,
  ): Promise<BulkSendResult> => {
    if (!Array.isArray(messages)) {
      return Promise.reject(
        new MittoValidationError([{ path: ['messages'], message: 'messages must be an array' }]),
      );
    }
    if (messages.length === 0) {
      return Promise.resolve({ bulkId: null, results: [] });
    }
    const issues: ValidationIssue[] = [];
    if (messages.length > config.maxBatchSize) {
      issues.push({
        path: ['messages'],
        message: `at most ${config.maxBatchSize} messages per bulk call, got ${messages.length}`,
      });
    } else {
      collectIssues(messages, validateMessage, issues);
    }
    if (issues.length > 0) {
      return Promise.reject(new MittoValidationError(issues));
    }
    // Encoded once: every retry resends the same bytes.
    const body = JSON.stringify({ messages: messages.map((m) => toWire(m, config)) });

    return call('sendBulk', callOptions, async (timeoutMs, signal) => {
      const answer = await post(PATHS.bulk, body, timeoutMs, signal);
      if (answer.status < 200 || answer.status >= 300) {
        throw sendErrorForStatus(answer, redact);
      }
      const items = readSendAnswer(answer, messages.length, redact);
      const results = new Array<SendOutcome>(items.results.length);
      for (let i = 0; i < items.results.length; i++) {
        results[i] = toOutcome(items.results[i]!);
      }
      return { bulkId: items.bulkId, results };
    });
  };

  const sendOne = (message: OutboundSms, callOptions?: MittoCallOptions): Promise<SendOutcome> => {
    const issues = validateMessage(message, ['message']);
    if (issues.length > 0) {
      return Promise.reject(new MittoValidationError([...issues]));
    }
    const body = JSON.stringify(toWire(message, config));
    return call('sendOne', callOptions, async (timeoutMs, signal) => {
      const answer = await post(PATHS.send, body, timeoutMs, signal);
      if (answer.status < 200 || answer.status >= 300) {
        throw sendErrorForStatus(answer, redact);
      }
      return toOutcome(readSendAnswer(answer, 1, redact).results[0]!);
    });
  };

  const lookup = (
    messageId: string,
    callOptions?: MittoCallOptions,
  ): Promise<MittoLookupResult | null> => {
    if (typeof messageId !== 'string' || messageId.trim() === '') {
      return Promise.reject(
        new MittoValidationError([{ path: ['messageId'], message: 'messageId must not be empty' }]),
      );
    }
    const path = prefix + PATHS.lookup(messageId);
    return call('lookup', callOptions, async (timeoutMs, signal) => {
      let answer: HttpAnswer;
      try {
        answer = await exchange(dispatcher, {
          origin,
          method: 'GET',
          path,
          headers: getHeaders,
          body: null,
          timeoutMs,
          signal,
        });
      } catch (error) {
        throw lookupFailure(error, redact);
      }
      if (answer.status === 404) {
        return null;
      }
      if (answer.status < 200 || answer.status >= 300) {
        throw errorForStatus(answer, redact);
      }
      const parsed = parseJson(answer.body, redact, lookupResponseSchema);
      if (!parsed.ok) {
        throw new MittoInvalidResponseError(
          redact.text(`unreadable lookup answer: ${parsed.problem}`),
          meta(answer),
        );
      }
      const data = parsed.value;
      const providerStatus = data.deliveryStatus ?? '';
      const state = toDeliveryState(providerStatus);
      const when = data.updatedAt ?? data.createdAt;
      return {
        providerMessageId: data.messageId,
        reference: data.reference ?? null,
        state,
        providerStatus,
        reason:
          state === 'failed' ? (data.description ?? providerStatus) : (data.description ?? null),
        occurredAt: when ? parseTime(when) : null,
      };
    });
  };

  const close = async (): Promise<void> => {
    if (closed) {
      return;
    }
    closed = true;
    await ownPool?.close();
  };

  return { sendBulk, sendOne, lookup, close };
}

function collectIssues(
  messages: readonly OutboundSms[],
  validateMessage: MessageValidator,
  into: ValidationIssue[],
): void {
  // Paths are only built for messages that fail; the common case allocates nothing.
  for (let i = 0; i < messages.length; i++) {
    const found = validateMessage(messages[i], EMPTY_PATH);
    for (const issue of found) {
      into.push({ path: ['messages', i, ...issue.path], message: issue.message });
    }
  }
}

const EMPTY_PATH: readonly (string | number)[] = [];

function toWire(
  message: OutboundSms,
  config: Pick<ResolvedMittoClientOptions, 'sendReference'>,
): WireMessage {
  // Two literals rather than a property added later: one stable object shape per mode keeps
  // JSON.stringify on its fast path.
  return config.sendReference
    ? {
        trafficAccountId: message.trafficAccountId,
        destination: message.destination,
        sms: { text: message.text, sender: message.sender },
        reference: message.reference,
      }
    : {
        trafficAccountId: message.trafficAccountId,
        destination: message.destination,
        sms: { text: message.text, sender: message.sender },
      };
}

function toOutcome(item: WireResultItem): SendOutcome {
  if (item.messageId) {
    return { status: 'accepted', providerMessageId: item.messageId };
  }
  const reason = readRejectReason(item) ?? 'rejected by Mitto (no reason given)';
  return { status: 'rejected', reason, isRetryable: isRetryableReason(reason) };
}

function readSendAnswer(
  answer: HttpAnswer,
  expected: number,
  redact: Redactor,
): { bulkId: string | null; results: WireResultItem[] } {
  const parsed = parseJson(answer.body, redact, sendResponseSchema, looksLikeSendResponse);
  if (!parsed.ok) {
    // Mitto said 2xx: it may well have accepted the messages. Not a partial success, not a retry.
    throw new MittoAmbiguousError(
      'unreadable_response',
      redact.text(`Mitto answered ${answer.status} but the body is unreadable: ${parsed.problem}`),
      meta(answer),
    );
  }
  const { messages, bulkId } = parsed.value;
  if (messages.length !== expected) {
    throw new MittoAmbiguousError(
      'length_mismatch',
      `Mitto answered ${messages.length} results for ${expected} messages; results cannot be matched`,
      meta(answer),
    );
  }
  return { bulkId: bulkId ?? null, results: messages };
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function parseJson<S extends z.ZodType>(
  body: Buffer,
  redact: Redactor,
  schema: S,
  fastCheck?: (json: unknown) => json is z.output<S>,
): Parsed<z.output<S>> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return { ok: false, problem: `not JSON (${excerpt(body, redact)})` };
  }
  if (fastCheck?.(json)) {
    return { ok: true, value: json };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return {
      ok: false,
      problem: `${issue.path.join('.') || '(body)'}: ${issue.message}`,
    };
  }
  return { ok: true, value: result.data };
}

/** The start of a body for an error message; redacted before it is cut, so no half key slips out. */
function excerpt(body: Buffer, redact: Redactor): string {
  const text = redact.text(body.subarray(0, 4096).toString('utf8')).replace(/\s+/g, ' ').trim();
  if (text === '') {
    return 'empty body';
  }
  return text.length > 200 || body.length > 4096 ? `${text.slice(0, 200)}…` : text;
}

function meta(answer: HttpAnswer, extra: MittoErrorOptions = {}): MittoErrorOptions {
  return { status: answer.status, requestId: answer.requestId, ...extra };
}

/**
 * A non-2xx answer to a send. A 504 comes from a gateway that stopped waiting for Mitto, which
 * may have accepted the messages meanwhile: ambiguous, never resent. Every other status is an
 * answer given before acceptance.
 */
function sendErrorForStatus(answer: HttpAnswer, redact: Redactor): MittoError {
  if (answer.status === 504) {
    return new MittoAmbiguousError(
      'gateway_timeout',
      `a gateway timed out waiting for Mitto (504): ${excerpt(answer.body, redact)}`,
      meta(answer),
    );
  }
  return errorForStatus(answer, redact);
}

/** A non-2xx answer as the matching error. Nothing was accepted in any of these cases. */
function errorForStatus(answer: HttpAnswer, redact: Redactor): MittoError {
  const { status } = answer;
  const detail = excerpt(answer.body, redact);
  if (status === 401 || status === 403) {
    return new MittoAuthenticationError(
      `Mitto refused the credentials (${status}): ${detail}`,
      meta(answer),
    );
  }
  if (status === 400) {
    return new MittoValidationError(badRequestIssues(answer.body, redact), {
      ...meta(answer),
      message: `Mitto rejected the payload (400): ${detail}`,
    });
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter);
    return new MittoRateLimitError(
      `Mitto rate limited the traffic account (429)${
        retryAfterMs === undefined ? '' : `; retry after ${retryAfterMs} ms`
      }`,
      meta(answer, retryAfterMs === undefined ? {} : { retryAfterMs }),
    );
  }
  if (status >= 500) {
    const retryAfterMs = parseRetryAfter(answer.retryAfter);
    return new MittoServerError(
      `Mitto failed (${status}): ${detail}`,
      meta(answer, retryAfterMs === undefined ? {} : { retryAfterMs }),
    );
  }
  return new MittoHttpError(`Mitto answered an unexpected ${status}: ${detail}`, meta(answer));
}

function badRequestIssues(body: Buffer, redact: Redactor): ValidationIssue[] {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return [{ path: [], message: excerpt(body, redact) }];
  }
  const record = json !== null && typeof json === 'object' ? (json as WireResultItem) : {};
  const message =
    readRejectReason(record) ??
    (typeof record.message === 'string' ? record.message : excerpt(body, redact));
  return [{ path: [], message: redact.text(message) }];
}

/** A send that produced no answer: not-sent (retryable) or ambiguous (never retried). */
function sendFailure(error: unknown, redact: Redactor): MittoError {
  if (!(error instanceof TransportFailure)) {
    return new MittoConnectionError(redact.text(String((error as Error)?.message ?? error)), {
      cause: redact.cause(error),
    });
  }
  const cause = redact.cause(error.cause);
  const message = redact.text(error.message);
  if (!error.wasSent) {
    return error.kind === 'aborted'
      ? new MittoAbortError(`${message}; nothing was sent`, { cause })
      : new MittoConnectionError(`could not reach Mitto: ${message}; nothing was sent`, { cause });
  }
  const reason =
    error.kind === 'timeout' ? 'timeout' : error.kind === 'aborted' ? 'aborted' : 'connection_lost';
  return new MittoAmbiguousError(
    reason,
    `${message}; Mitto may have accepted the messages (do not resend)`,
    { cause },
  );
}

/** Lookups send nothing: a lost answer is a plain connection error, safe to retry. */
function lookupFailure(error: unknown, redact: Redactor): MittoError {
  const cause = redact.cause(error instanceof TransportFailure ? error.cause : error);
  const message = redact.text(String((error as Error)?.message ?? error));
  if (error instanceof TransportFailure && error.kind === 'aborted') {
    return new MittoAbortError(`lookup ${message}`, { cause });
  }
  return new MittoConnectionError(`lookup failed: ${message}`, { cause });
}
