// Public entry point of @smsbatch/core.

export * from './internal/domain/status.js';
export type * from './internal/domain/types.js';
export * from './internal/errors.js';
export type * from './internal/ports/app.js';
export type * from './internal/ports/campaign-store.js';
export type * from './internal/ports/credit-ledger.js';
export type * from './internal/ports/job-queue.js';
export * from './internal/ports/observability.js';
export type * from './internal/ports/rate-limiter.js';
export type * from './internal/ports/sms-provider.js';
