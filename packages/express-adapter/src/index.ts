// Public entry point of @smsbatch/express-adapter: the HTTP contract of smsbatch as an Express 5
// router, its problem+json errors, and the handlers an app mounts last to answer unknown routes
// and its own errors in the same format.

export {
  createNotFoundHandler,
  createProblemErrorHandler,
  DEFAULT_PROBLEM_TYPE_BASE,
  isSmsHttpError,
  PROBLEM_TYPES,
  type Problem,
  type ProblemHandlerOptions,
  type ProblemIssue,
  type ProblemSlug,
  SmsHttpError,
  sendProblem,
} from './internal/problems.js';
export {
  createSmsRouter,
  type ResolveOwner,
  type SmsRouterOptions,
  type SmsServices,
} from './internal/router.js';
export type {
  DeliveryReportParseResult,
  DeliveryReportParser,
  WebhookServices,
} from './internal/webhook.js';
