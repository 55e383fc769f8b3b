// Errors as `application/problem+json` (RFC 9457). Every failure the routes can answer with has
// a stable slug; its `type` is `${problemTypeBase}${slug}`, so clients switch on the slug and the
// URI stays a place to document it. Core's errors map here by meaning, never by message text.

import type { ValidationIssue } from '@smsbatch/core';
import {
  isConflictError,
  isInsufficientCreditsError,
  isNotFoundError,
  isSubscriptionInactiveError,
  isValidationError,
  type Logger,
  silentLogger,
} from '@smsbatch/core';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';

export const DEFAULT_PROBLEM_TYPE_BASE = 'https://smsbatch.dev/problems/';

/** Every problem the adapter answers with: slug → status and title. */
export const PROBLEM_TYPES = {
  validation: { status: 400, title: 'Invalid request' },
  'malformed-json': { status: 400, title: 'Malformed JSON' },
  'bad-request': { status: 400, title: 'Bad request' },
  'unreadable-delivery-report': { status: 400, title: 'Unreadable delivery report' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  'insufficient-credits': { status: 402, title: 'Insufficient credits' },
  'subscription-inactive': { status: 403, title: 'Subscription inactive' },
  'not-found': { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemSlug = keyof typeof PROBLEM_TYPES;

/** A field-level complaint, from zod or from core's `ValidationError`. */
export interface ProblemIssue {
  path: (string | number)[];
  message: string;
  /** zod's issue code when zod found it (`invalid_type`, `too_small`, ...). */
  code?: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** The slug of `type`, repeated so clients need not parse the URI. */
  code: ProblemSlug;
  [extension: string]: unknown;
}

/**
 * The adapter's one error: an HTTP answer that is not a success. Route handlers (the adapter's
 * and an app's own, when it mounts the error handler) throw it and the handler renders it.
 */
export class SmsHttpError extends Error {
  readonly code: ProblemSlug;
  readonly status: number;
  /** Members added to the problem document (`issues`, `required`, ...). */
  readonly extensions: Readonly<Record<string, unknown>>;
  /** Response headers to set with the problem (`WWW-Authenticate`, ...). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ProblemSlug,
    detail: string,
    options: {
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SmsHttpError';
    this.code = code;
    this.status = PROBLEM_TYPES[code].status;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

export function isSmsHttpError(error: unknown): error is SmsHttpError {
  if (error instanceof SmsHttpError) return true;
  if (!(error instanceof Error) || error.name !== 'SmsHttpError') return false;
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === 'string' && Object.hasOwn(PROBLEM_TYPES, code);
}

/** Body-parser's errors carry a `type` and a status; nothing else in our stack does. */
interface BodyParserError extends Error {
  type: string;
  status?: number;
  expose?: boolean;
}

function isBodyParserError(error: unknown): error is BodyParserError {
  return (
    error instanceof Error &&
    typeof (error as { type?: unknown }).type === 'string' &&
    typeof (error as { status?: unknown }).status === 'number'
  );
}

/** Turns whatever a route threw into an `SmsHttpError`; `null` means "a bug: answer 500". */
export function toHttpError(error: unknown): SmsHttpError | null {
  if (isSmsHttpError(error)) return error;
  if (isValidationError(error)) {
    return new SmsHttpError('validation', error.message, {
      extensions: { issues: error.issues.map(fromCoreIssue) },
      cause: error,
    });
  }
  if (isNotFoundError(error)) return new SmsHttpError('not-found', error.message, { cause: error });
  if (isConflictError(error)) return new SmsHttpError('conflict', error.message, { cause: error });
  if (isInsufficientCreditsError(error)) {
    return new SmsHttpError('insufficient-credits', error.message, {
      extensions: { required: error.required, available: error.available },
      cause: error,
    });
  }
  if (isSubscriptionInactiveError(error)) {
    return new SmsHttpError('subscription-inactive', error.message, { cause: error });
  }
  if (isBodyParserError(error)) {
    switch (error.type) {
      case 'entity.too.large':
        return new SmsHttpError('payload-too-large', 'the request body is over the size limit', {
          extensions: { limit: (error as { limit?: unknown }).limit },
          cause: error,
        });
      case 'entity.parse.failed':
        return new SmsHttpError('malformed-json', 'the request body is not valid JSON', {
          cause: error,
        });
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new SmsHttpError('unsupported-media-type', error.message, { cause: error });
      default:
        // Aborted or mis-sized bodies: the client's fault, and its message is safe to show.
        if (error.status !== undefined && error.status >= 400 && error.status < 500) {
          return new SmsHttpError('bad-request', error.message, { cause: error });
        }
    }
  }
  return null;
}

function fromCoreIssue(issue: ValidationIssue): ProblemIssue {
  return { path: [...issue.path], message: issue.message };
}

export function toProblem(
  error: SmsHttpError,
  req: Pick<Request, 'originalUrl'>,
  typeBase: string,
): Problem {
  return {
    ...error.extensions,
    type: `${typeBase}${error.code}`,
    title: PROBLEM_TYPES[error.code].title,
    status: error.status,
    detail: error.message,
    instance: req.originalUrl.split('?')[0],
    code: error.code,
  };
}

export function sendProblem(
  res: Response,
  req: Request,
  error: SmsHttpError,
  typeBase = DEFAULT_PROBLEM_TYPE_BASE,
): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res
    .status(error.status)
    .type('application/problem+json')
    .send(JSON.stringify(toProblem(error, req, typeBase)));
}

export interface ProblemHandlerOptions {
  logger?: Logger;
  /** Prefix of every problem `type`. Default `https://smsbatch.dev/problems/`. */
  problemTypeBase?: string;
}

/**
 * Express error middleware rendering any error as a problem: known ones with their status,
 * everything else as a logged 500 whose detail says nothing about the internals.
 */
export function createProblemErrorHandler(
  options: ProblemHandlerOptions = {},
): ErrorRequestHandler {
  const logger = options.logger ?? silentLogger;
  const typeBase = options.problemTypeBase ?? DEFAULT_PROBLEM_TYPE_BASE;
  return (error, req, res, next) => {
    // Half a response is out: only Express's default handler can end it (it closes the socket).
    if (res.headersSent) {
      next(error);
      return;
    }
    let problem = toHttpError(error);
    if (problem === null) {
      logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
      problem = new SmsHttpError('internal', 'something went wrong; it was logged', {
        cause: error,
      });
    } else if (problem.status >= 500) {
      logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    }
    sendProblem(res, req, problem, typeBase);
  };
}

/** The last middleware of an app: any request no route took is a `not-found` problem. */
export function createNotFoundHandler(
  options: Pick<ProblemHandlerOptions, 'problemTypeBase'> = {},
): RequestHandler {
  const typeBase = options.problemTypeBase ?? DEFAULT_PROBLEM_TYPE_BASE;
  return (req, res) => {
    sendProblem(
      res,
      req,
      new SmsHttpError('not-found', `no route for ${req.method} ${req.path}`),
      typeBase,
    );
  };
}
