// The client's errors: one base `MittoError` with a stable `code`, one subclass per meaning. Each
// one tells core's pipeline whether the messages may have gone out (`sendState`), because an
// ambiguous batch must never be resent while a refused one must be.

import type { ProviderFailure, ValidationIssue } from '@smsbatch/core';

export type MittoErrorCode =
  | 'authentication'
  | 'validation'
  | 'rate_limited'
  | 'server'
  | 'connection'
  | 'aborted'
  | 'ambiguous'
  | 'http'
  | 'invalid_response';

export interface MittoErrorOptions {
  status?: number | null;
  retryAfterMs?: number;
  requestId?: string | null;
  cause?: unknown;
}

export class MittoError extends Error implements ProviderFailure {
  readonly code: MittoErrorCode;
  /** The HTTP status Mitto answered, `null` when no answer came. */
  readonly status: number | null;
  readonly retryAfterMs: number | undefined;
  /** Mitto's request id (`x-request-id` and the like) when the answer carried one. */
  readonly requestId: string | null;
  readonly sendState: 'not-sent' | 'maybe-sent' = 'not-sent';
  readonly isRetryable: boolean = false;
  readonly isRateLimited: boolean = false;

  constructor(code: MittoErrorCode, message: string, options: MittoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MittoError';
    this.code = code;
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs;
    this.requestId = options.requestId ?? null;
  }
}

/** 401 (bad key) or 403 (account or sender not allowed). Retrying cannot help. */
export class MittoAuthenticationError extends MittoError {
  constructor(message: string, options: MittoErrorOptions = {}) {
    super('authentication', message, options);
    this.name = 'MittoAuthenticationError';
  }
}

/**
 * The payload is wrong: a 400 from Mitto, or caught locally before any request was made. `issues`
 * name the place, e.g. `['messages', 3, 'destination']`.
 */
export class MittoValidationError extends MittoError {
  readonly issues: ValidationIssue[];

  constructor(issues: ValidationIssue[], options: MittoErrorOptions & { message?: string } = {}) {
    super('validation', options.message ?? `invalid request: ${formatIssues(issues)}`, options);
    this.name = 'MittoValidationError';
    this.issues = issues;
  }
}

/** 429: back off this traffic account. Nothing was accepted. */
export class MittoRateLimitError extends MittoError {
  override readonly isRetryable = true;
  override readonly isRateLimited = true;

  constructor(message: string, options: MittoErrorOptions = {}) {
    super('rate_limited', message, options);
    this.name = 'MittoRateLimitError';
  }
}

/** 5xx: Mitto answered that it failed; the request was not accepted. */
export class MittoServerError extends MittoError {
  override readonly isRetryable = true;

  constructor(message: string, options: MittoErrorOptions = {}) {
    super('server', message, options);
    this.name = 'MittoServerError';
  }
}

/**
 * No request reached Mitto: refused connection, DNS failure, connect timeout, a reset or a
 * timeout before the request body was written. Resending cannot duplicate anything.
 */
export class MittoConnectionError extends MittoError {
  override readonly isRetryable = true;

  constructor(message: string, options: MittoErrorOptions = {}) {
    super('connection', message, options);
    this.name = 'MittoConnectionError';
  }
}

/**
 * The caller's `AbortSignal` fired before the request was written: nothing was sent. (An abort
 * after the body went out is a `MittoAmbiguousError` with `reason: 'aborted'`.)
 */
export class MittoAbortError extends MittoError {
  override readonly isRetryable = true;

  constructor(message: string, options: MittoErrorOptions = {}) {
    super('aborted', message, options);
    this.name = 'MittoAbortError';
  }
}

export type AmbiguousReason =
  /** No answer within `timeoutMs` after the request was written. */
  | 'timeout'
  /** The connection broke after the request was written. */
  | 'connection_lost'
  /** The caller aborted after the request was written. */
  | 'aborted'
  /** A 2xx whose body could not be read or did not match the contract. */
  | 'unreadable_response'
  /** A 2xx with a different number of results than messages sent. */
  | 'length_mismatch'
  /** A 504 to a send: a gateway gave up waiting, Mitto behind it may have accepted. */
  | 'gateway_timeout';

/**
 * Mitto may have accepted the messages: the request went out and no usable answer came back.
 * Never resend such a batch; resolve it by the `reference` in delivery reports or by lookup.
 */
export class MittoAmbiguousError extends MittoError {
  override readonly sendState = 'maybe-sent' as const;
  readonly reason: AmbiguousReason;

  constructor(reason: AmbiguousReason, message: string, options: MittoErrorOptions = {}) {
    super('ambiguous', message, options);
    this.name = 'MittoAmbiguousError';
    this.reason = reason;
  }
}

/** Any other status (404 on a send, 405, 409, 413, ...): a contract problem, not worth a retry. */
export class MittoHttpError extends MittoError {
  constructor(message: string, options: MittoErrorOptions = {}) {
    super('http', message, options);
    this.name = 'MittoHttpError';
  }
}

/** A lookup answer that does not match the contract. Lookups send nothing, so it is not-sent. */
export class MittoInvalidResponseError extends MittoError {
  constructor(message: string, options: MittoErrorOptions = {}) {
    super('invalid_response', message, options);
    this.name = 'MittoInvalidResponseError';
  }
}

export function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues
    .map((issue) =>
      issue.path.length > 0 ? `${formatPath(issue.path)}: ${issue.message}` : issue.message,
    )
    .join('; ');
}

function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    out = typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part;
  }
  return out;
}

const MITTO_ERROR_NAMES = new Set([
  'MittoError',
  'MittoAuthenticationError',
  'MittoValidationError',
  'MittoRateLimitError',
  'MittoServerError',
  'MittoConnectionError',
  'MittoAbortError',
  'MittoAmbiguousError',
  'MittoHttpError',
  'MittoInvalidResponseError',
]);

// Guards match on `name` too, so an error thrown by a second copy of this package still counts.
const hasName = (error: unknown, name: string): boolean =>
  error instanceof Error && error.name === name;

export const isMittoError = (e: unknown): e is MittoError =>
  e instanceof MittoError || (e instanceof Error && MITTO_ERROR_NAMES.has(e.name));
export const isMittoAuthenticationError = (e: unknown): e is MittoAuthenticationError =>
  e instanceof MittoAuthenticationError || hasName(e, 'MittoAuthenticationError');
export const isMittoValidationError = (e: unknown): e is MittoValidationError =>
  e instanceof MittoValidationError || hasName(e, 'MittoValidationError');
export const isMittoRateLimitError = (e: unknown): e is MittoRateLimitError =>
  e instanceof MittoRateLimitError || hasName(e, 'MittoRateLimitError');
export const isMittoServerError = (e: unknown): e is MittoServerError =>
  e instanceof MittoServerError || hasName(e, 'MittoServerError');
export const isMittoConnectionError = (e: unknown): e is MittoConnectionError =>
  e instanceof MittoConnectionError || hasName(e, 'MittoConnectionError');
export const isMittoAbortError = (e: unknown): e is MittoAbortError =>
  e instanceof MittoAbortError || hasName(e, 'MittoAbortError');
export const isMittoAmbiguousError = (e: unknown): e is MittoAmbiguousError =>
  e instanceof MittoAmbiguousError || hasName(e, 'MittoAmbiguousError');
export const isMittoHttpError = (e: unknown): e is MittoHttpError =>
  e instanceof MittoHttpError || hasName(e, 'MittoHttpError');
export const isMittoInvalidResponseError = (e: unknown): e is MittoInvalidResponseError =>
  e instanceof MittoInvalidResponseError || hasName(e, 'MittoInvalidResponseError');
