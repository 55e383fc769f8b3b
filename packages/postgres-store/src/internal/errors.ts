// The package's one error class: every database failure that is not a domain outcome surfaces as a
// `PostgresStoreError` carrying PostgreSQL's SQLSTATE, so callers can tell a lost connection
// (worth retrying later) from a bug (a constraint the store should never break).

/**
 * `unavailable`: a transient failure (lost connection, serialization failure, deadlock, shutdown)
 * that kept happening after the bounded retries. `query_failed`: any other database error.
 */
export type PostgresStoreErrorCode = 'unavailable' | 'query_failed';

export class PostgresStoreError extends Error {
  readonly code: PostgresStoreErrorCode;
  /** PostgreSQL's SQLSTATE (`23505`, `40P01`…), or null for a network-level failure. */
  readonly sqlState: string | null;
  /** The violated constraint or index, when PostgreSQL names one. */
  readonly constraint: string | null;

  constructor(
    code: PostgresStoreErrorCode,
    message: string,
    details: { sqlState: string | null; constraint: string | null; cause: unknown },
  ) {
    super(message, { cause: details.cause });
    this.name = 'PostgresStoreError';
    this.code = code;
    this.sqlState = details.sqlState;
    this.constraint = details.constraint;
  }
}

/** Also matches on `name`, so it works across two copies of the package. */
export const isPostgresStoreError = (error: unknown): error is PostgresStoreError =>
  error instanceof PostgresStoreError ||
  (error instanceof Error && error.name === 'PostgresStoreError');
