// The RateLimiter port: a weighted budget per key (a traffic account, or an owner on one).

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

export interface RateLimit {
  /** Weight allowed per window. */
  max: number;
  durationMs: number;
}

export interface RateLimiter {
  /**
   * Takes `weight` (default 1) from the key's budget, or refuses with the wait until it would fit.
   * A weight larger than `max` passes when the budget is full and then owes the excess.
   * A key without a limit always passes, except during a `backoff`.
   */
  take(key: string, weight?: number): Promise<RateDecision>;
  /** Nothing passes for `key` during the next `ms` (a provider's 429 `Retry-After`), limit or not. */
  backoff(key: string, ms: number): Promise<void>;
}
