// The in-memory RateLimiter: GCRA per key, weighted, for single-process deployments.
// A key's state is its debt: how much of the window's budget is still in use, in units where
// integer weights, windows and clocks give exact answers (no float drift in the long-run rate).

import { ValidationError, type ValidationIssue } from '../errors.js';
import { type Clock, systemClock } from '../ports/observability.js';
import type { RateDecision, RateLimit, RateLimiter } from '../ports/rate-limiter.js';

export interface MemoryRateLimiterOptions {
  /** The limit of a key, or `null` for a key that is never limited (backoffs still apply). */
  limits: (key: string) => RateLimit | null;
  clock?: Clock;
}

export type MemoryRateLimiter = RateLimiter & {
  /** Keys holding state (in debt or backing off); the rest cost no memory. */
  trackedKeys(): number;
};

interface KeyState {
  /** Debt at `at`; one unit of weight costs `durationMs` units and `max` units drain per ms. */
  debt: number;
  at: number;
  /** The window the debt was measured in, to rescale it if the key's limit changes; moot at 0. */
  durationMs: number;
  blockedUntil: number;
}

/** Sweeps run when the map doubles, so their cost is amortised over the takes that grew it. */
const MIN_SWEEP_SIZE = 1024;

export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): MemoryRateLimiter {
  const clock = options.clock ?? systemClock;
  const states = new Map<string, KeyState>();
  let sweepAt = MIN_SWEEP_SIZE;

  const debtAt = (state: KeyState, limit: RateLimit | null, now: number): number => {
    if (!limit) return 0;
    const debt =
      state.durationMs === limit.durationMs
        ? state.debt
        : (state.debt / state.durationMs) * limit.durationMs;
    // A clock stepping back must not grow the debt.
    return Math.max(0, debt - Math.max(0, now - state.at) * limit.max);
  };

  const sweep = (now: number): void => {
    for (const [key, state] of states) {
      if (state.blockedUntil <= now && debtAt(state, options.limits(key), now) === 0) {
        states.delete(key);
      }
    }
    sweepAt = Math.max(MIN_SWEEP_SIZE, states.size * 2);
  };

  const store = (key: string, state: KeyState): void => {
    if (state.debt === 0 && state.blockedUntil <= state.at) {
      states.delete(key);
      return;
    }
    states.set(key, state);
    if (states.size >= sweepAt) sweep(state.at);
  };

  return {
    async take(key, weight = 1): Promise<RateDecision> {
      assertRateWeight(weight);
      const limit = options.limits(key);
      if (limit) assertRateLimit(key, limit);
      const now = clock.now();
      const state = states.get(key);
      const blockedUntil = state?.blockedUntil ?? 0;
      const debt = state ? debtAt(state, limit, now) : 0;

      let wait = blockedUntil - now;
      if (limit) {
        const capacity = limit.max * limit.durationMs;
        const cost = weight * limit.durationMs;
        // An oversized weight needs the whole budget, then owes the excess as debt.
        const excess = weight > limit.max ? debt : debt + cost - capacity;
        wait = Math.max(wait, excess / limit.max);
      }
      if (wait > 0) return { ok: false, retryAfterMs: Math.ceil(wait) };
      store(key, {
        debt: limit ? debt + weight * limit.durationMs : 0,
        at: now,
        durationMs: limit?.durationMs ?? 1,
        blockedUntil,
      });
      return { ok: true };
    },

    async backoff(key, ms) {
      if (!(ms > 0)) return;
      const now = clock.now();
      const limit = options.limits(key);
      const state = states.get(key);
      const blockedUntil = Math.max(state?.blockedUntil ?? 0, now + ms);
      store(key, {
        debt: state ? debtAt(state, limit, now) : 0,
        at: now,
        durationMs: limit?.durationMs ?? 1,
        blockedUntil,
      });
    },

    trackedKeys: () => states.size,
  };
}

/** Throws a ValidationError unless `weight` is a positive integer. For any RateLimiter's `take`. */
export function assertRateWeight(weight: number): void {
  if (!Number.isSafeInteger(weight) || weight < 1) {
    throw new ValidationError([{ path: ['weight'], message: 'must be a positive integer' }]);
  }
}

/** Throws a ValidationError naming `limits.<key>.<field>` for a limit a RateLimiter cannot honour. */
export function assertRateLimit(key: string, limit: RateLimit): void {
  const issues: ValidationIssue[] = [];
  if (!Number.isSafeInteger(limit.max) || limit.max < 1) {
    issues.push({ path: ['limits', key, 'max'], message: 'must be a positive integer' });
  }
  if (!Number.isSafeInteger(limit.durationMs) || limit.durationMs < 1) {
    issues.push({ path: ['limits', key, 'durationMs'], message: 'must be a positive integer' });
  }
  if (issues.length > 0) throw new ValidationError(issues);
}
