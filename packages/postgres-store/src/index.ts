// Public entry point of @smsbatch/postgres-store: the CampaignStore and CreditLedger ports of
// @smsbatch/core on PostgreSQL, and the migrations that create their tables.

export { createPostgresStore, type PostgresStoreOptions } from './internal/campaign-store.js';
export { createPostgresLedger, type PostgresLedgerOptions } from './internal/credit-ledger.js';
export type { RetryOptions } from './internal/db.js';
export {
  isPostgresStoreError,
  PostgresStoreError,
  type PostgresStoreErrorCode,
} from './internal/errors.js';
export { type MigrateOptions, type MigrateResult, migrate } from './internal/migrate.js';
