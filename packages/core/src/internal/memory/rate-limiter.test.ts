import { describe, expect, it } from 'vitest';
import { describeRateLimiter } from '../conformance/rate-limiter.js';
import { isValidationError } from '../errors.js';
import type { RateLimit } from '../ports/rate-limiter.js';
import { createMemoryRateLimiter } from './rate-limiter.js';

describeRateLimiter('memory', (limits) => ({ limiter: createMemoryRateLimiter({ limits }) }));

function setup(limit: (key: string) => RateLimit | null) {
  const clock = { time: 1_000_000, now: () => clock.time };
  const limiter = createMemoryRateLimiter({ limits: limit, clock });
  return { limiter, clock };
}

describe('memory rate limiter', () => {
  it('answers the exact wait and holds the long-run rate', async () => {
    const { limiter, clock } = setup(() => ({ max: 3, durationMs: 1_000 }));
    for (let i = 0; i < 3; i++) expect((await limiter.take('k')).ok).toBe(true);
    // 1000 / 3 ms per unit: exact in the limiter's integer units, rounded up for the caller.
    expect(await limiter.take('k')).toEqual({ ok: false, retryAfterMs: 334 });
    clock.time += 333;
    expect(await limiter.take('k')).toEqual({ ok: false, retryAfterMs: 1 });
    clock.time += 1;
    expect((await limiter.take('k')).ok).toBe(true);

    let passed = 0;
    for (let t = 0; t < 100_000; t += 10) {
      clock.time += 10;
      if ((await limiter.take('k')).ok) passed++;
    }
    expect(passed).toBe(300);
  });

  it('charges an oversized weight as debt', async () => {
    const { limiter, clock } = setup(() => ({ max: 5, durationMs: 60_000 }));
    expect((await limiter.take('k', 8)).ok).toBe(true);
    // Debt of 8 units at 12 s each; one unit fits once it is down to 4.
    expect(await limiter.take('k')).toEqual({ ok: false, retryAfterMs: 48_000 });
    expect(await limiter.take('k', 8)).toEqual({ ok: false, retryAfterMs: 96_000 });
    clock.time += 96_000;
    expect((await limiter.take('k', 8)).ok).toBe(true);
  });

  it('waits for the longer of the backoff and the budget', async () => {
    const { limiter, clock } = setup(() => ({ max: 1, durationMs: 10_000 }));
    await limiter.take('k');
    await limiter.backoff('k', 2_000);
    expect(await limiter.take('k')).toEqual({ ok: false, retryAfterMs: 10_000 });
    await limiter.backoff('k', 15_000);
    expect(await limiter.take('k')).toEqual({ ok: false, retryAfterMs: 15_000 });
    clock.time += 15_000;
    expect((await limiter.take('k')).ok).toBe(true);
  });

  it('keeps the debt when a key changes limits', async () => {
    let limit: RateLimit = { max: 10, durationMs: 10_000 };
    const { limiter } = setup(() => limit);
    await limiter.take('k', 10);
    limit = { max: 10, durationMs: 20_000 };
    // Ten units owed, now at 2 s each: one more fits after 2 s.
    expect(await limiter.take('k')).toEqual({ ok: false, retryAfterMs: 2_000 });
  });

  it('forgets keys whose budget is full again', async () => {
    const { limiter, clock } = setup((key) =>
      key === 'free' ? null : { max: 10, durationMs: 1_000 },
    );
    for (let i = 0; i < 5_000; i++) await limiter.take(`first${i}`);
    expect(limiter.trackedKeys()).toBe(5_000);
    clock.time += 1_000;
    for (let i = 0; i < 5_000; i++) await limiter.take(`second${i}`);
    // The first round drained and was swept: only keys still owing are held.
    expect(limiter.trackedKeys()).toBe(5_000);

    await limiter.backoff('free', 500);
    expect(limiter.trackedKeys()).toBe(5_001);
    clock.time += 1_000;
    await limiter.take('free');
    expect(limiter.trackedKeys()).toBe(5_000);
  });

  it('rejects weights that are not positive integers', async () => {
    const { limiter } = setup(() => null);
    for (const weight of [0, -1, 1.5, Number.NaN]) {
      const error = await limiter.take('k', weight).catch((e: unknown) => e);
      expect(isValidationError(error)).toBe(true);
    }
  });

  it('rejects an invalid limit, naming the key', async () => {
    const { limiter } = setup(() => ({ max: 0, durationMs: 1_000 }));
    const error = await limiter.take('acct-1').catch((e: unknown) => e);
    expect(error).toMatchObject({ issues: [{ path: ['limits', 'acct-1', 'max'] }] });
  });
});
