// Core's errors: one base with a stable `code`, subclasses by meaning, and guards that also
// match on `name` so they work across two copies of the package.

const ERROR_CODES = [
  'validation',
  'config',
  'not_found',
  'conflict',
  'insufficient_credits',
  'subscription_inactive',
  'hold_closed',
  'hold_exceeded',
  'hold_not_found',
] as const;

export type SmsBatchErrorCode = (typeof ERROR_CODES)[number];

export interface ValidationIssue {
  /** Where the problem is, e.g. `['recipients', 3, 'phone']`. */
  path: (string | number)[];
  message: string;
}

export class SmsBatchError extends Error {
  readonly code: SmsBatchErrorCode;

  constructor(code: SmsBatchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmsBatchError';
    this.code = code;
  }
}

/** Bad input: names each offending field. */
export class ValidationError extends SmsBatchError {
  readonly issues: ValidationIssue[];

  constructor(issues: ValidationIssue[], options?: { cause?: unknown }) {
    super('validation', formatIssues(issues), options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** Bad configuration: names each offending variable. */
export class ConfigError extends SmsBatchError {
  readonly issues: ValidationIssue[];

  constructor(issues: ValidationIssue[]) {
    super('config', `invalid configuration: ${formatIssues(issues)}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export class NotFoundError extends SmsBatchError {
  constructor(what: string, id: string) {
    super('not_found', `${what} ${id} not found`);
    this.name = 'NotFoundError';
  }
}

/** The operation does not fit the current state (enqueue of a sent campaign, say). */
export class ConflictError extends SmsBatchError {
  constructor(message: string) {
    super('conflict', message);
    this.name = 'ConflictError';
  }
}

export class InsufficientCreditsError extends SmsBatchError {
  readonly required: number;
  readonly available: number;

  constructor(required: number, available: number) {
    super(
      'insufficient_credits',
      `insufficient credits: ${required} required, ${available} available`,
    );
    this.name = 'InsufficientCreditsError';
    this.required = required;
    this.available = available;
  }
}

export class SubscriptionInactiveError extends SmsBatchError {
  constructor(reason: string) {
    super('subscription_inactive', `subscription inactive: ${reason}`);
    this.name = 'SubscriptionInactiveError';
  }
}

export class HoldNotFoundError extends SmsBatchError {
  constructor(holdId: string) {
    super('hold_not_found', `hold ${holdId} not found`);
    this.name = 'HoldNotFoundError';
  }
}

export class HoldClosedError extends SmsBatchError {
  constructor(holdId: string) {
    super('hold_closed', `hold ${holdId} is closed`);
    this.name = 'HoldClosedError';
  }
}

export class HoldExceededError extends SmsBatchError {
  constructor(holdId: string, amount: number, remaining: number) {
    super('hold_exceeded', `hold ${holdId}: ${amount} exceeds the ${remaining} remaining`);
    this.name = 'HoldExceededError';
  }
}

function formatIssues(issues: readonly ValidationIssue[]): string {
  return issues
    .map((issue) =>
      issue.path.length > 0 ? `${formatPath(issue.path)}: ${issue.message}` : issue.message,
    )
    .join('; ');
}

export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part),
    '',
  );
}

function hasName(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

export function isSmsBatchError(error: unknown): error is SmsBatchError {
  return (
    error instanceof SmsBatchError ||
    (error instanceof Error &&
      (ERROR_CODES as readonly unknown[]).includes((error as { code?: unknown }).code))
  );
}

export const isValidationError = (e: unknown): e is ValidationError =>
  e instanceof ValidationError || hasName(e, 'ValidationError');
export const isNotFoundError = (e: unknown): e is NotFoundError =>
  e instanceof NotFoundError || hasName(e, 'NotFoundError');
export const isConflictError = (e: unknown): e is ConflictError =>
  e instanceof ConflictError || hasName(e, 'ConflictError');
export const isInsufficientCreditsError = (e: unknown): e is InsufficientCreditsError =>
  e instanceof InsufficientCreditsError || hasName(e, 'InsufficientCreditsError');
export const isSubscriptionInactiveError = (e: unknown): e is SubscriptionInactiveError =>
  e instanceof SubscriptionInactiveError || hasName(e, 'SubscriptionInactiveError');
export const isHoldClosedError = (e: unknown): e is HoldClosedError =>
  e instanceof HoldClosedError || hasName(e, 'HoldClosedError');
export const isHoldExceededError = (e: unknown): e is HoldExceededError =>
  e instanceof HoldExceededError || hasName(e, 'HoldExceededError');
export const isHoldNotFoundError = (e: unknown): e is HoldNotFoundError =>
  e instanceof HoldNotFoundError || hasName(e, 'HoldNotFoundError');
