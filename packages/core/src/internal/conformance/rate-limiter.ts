// The RateLimiter contract as a vitest suite, for the in-memory limiter, Redis and an app's own.
// Windows are tens of seconds wherever no refill has to be observed, so a slow machine cannot
// flake; the few tests that wait for a refill use short windows and generous margins.

import { afterEach, describe, expect, it } from 'vitest';
import type { RateDecision, RateLimit, RateLimiter } from '../ports/rate-limiter.js';

export interface RateLimiterFixture {
  limiter: RateLimiter;
  cleanup?: () => Promise<void> | void;
}

/** Slack on waits a limiter reports: clock reads and round trips between the calls. */
const TOLERANCE_MS = 1_000;
const MINUTE = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Asserts a refusal and returns its wait. */
const retryAfter = (decision: RateDecision): number => {
  expect(decision.ok).toBe(false);
  return decision.ok ? Number.NaN : decision.retryAfterMs;
};

export function describeRateLimiter(
  name: string,
  factory: (
    limits: (key: string) => RateLimit | null,
  ) => Promise<RateLimiterFixture> | RateLimiterFixture,
): void {
  describe(`RateLimiter conformance: ${name}`, () => {
    const run = Math.random().toString(36).slice(2, 10);
    let counter = 0;
    let fixtures: RateLimiterFixture[] = [];

    afterEach(async () => {
      const done = fixtures;
      fixtures = [];
      for (const fixture of done) await fixture.cleanup?.();
    });

    /** A limiter whose keys are `key(name)`, limited by `limits[name]` (absent: unlimited). */
    const setup = async (limits: Record<string, RateLimit>) => {
      const prefix = `rl-${run}-${++counter}-`;
      const fixture = await factory((key) =>
        key.startsWith(prefix) ? (limits[key.slice(prefix.length)] ?? null) : null,
      );
      fixtures.push(fixture);
      return { limiter: fixture.limiter, key: (keyName: string) => prefix + keyName };
    };

    const takeMany = (limiter: RateLimiter, key: string, count: number, weight = 1) =>
      Promise.all(Array.from({ length: count }, () => limiter.take(key, weight)));

    const passed = (decisions: { ok: boolean }[]) => decisions.filter((d) => d.ok).length;

    it('passes takes within the limit', async () => {
      const { limiter, key } = await setup({ a: { max: 5, durationMs: MINUTE } });
      for (let i = 0; i < 5; i++) expect(await limiter.take(key('a'))).toEqual({ ok: true });
    });

    it('refuses over the limit with the wait until the next unit fits', async () => {
      const { limiter, key } = await setup({ a: { max: 5, durationMs: MINUTE } });
      for (let i = 0; i < 5; i++) await limiter.take(key('a'));
      const wait = retryAfter(await limiter.take(key('a')));
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(MINUTE + TOLERANCE_MS);
    });

    it('takes nothing from the budget when it refuses', async () => {
      const { limiter, key } = await setup({ a: { max: 3, durationMs: MINUTE } });
      await takeMany(limiter, key('a'), 3);
      const first = retryAfter(await limiter.take(key('a')));
      for (let i = 0; i < 10; i++) await limiter.take(key('a'));
      expect(retryAfter(await limiter.take(key('a')))).toBeLessThanOrEqual(first + TOLERANCE_MS);
    });

    it('weighs takes', async () => {
      const { limiter, key } = await setup({ a: { max: 10, durationMs: MINUTE } });
      expect((await limiter.take(key('a'), 6)).ok).toBe(true);
      expect((await limiter.take(key('a'), 5)).ok).toBe(false);
      expect((await limiter.take(key('a'), 4)).ok).toBe(true);
      expect((await limiter.take(key('a'), 1)).ok).toBe(false);
    });

    it('keeps keys independent', async () => {
      const { limiter, key } = await setup({
        a: { max: 5, durationMs: MINUTE },
        b: { max: 5, durationMs: MINUTE },
      });
      await takeMany(limiter, key('a'), 5);
      expect((await limiter.take(key('a'))).ok).toBe(false);
      expect(passed(await takeMany(limiter, key('b'), 5))).toBe(5);
    });

    it('always passes a key without a limit', async () => {
      const { limiter, key } = await setup({});
      expect(passed(await takeMany(limiter, key('free'), 200))).toBe(200);
      expect(await limiter.take(key('free'), 1_000_000)).toEqual({ ok: true });
    });

    it('passes exactly the budget under concurrent takes', async () => {
      const { limiter, key } = await setup({
        a: { max: 10, durationMs: MINUTE },
        b: { max: 30, durationMs: MINUTE },
      });
      const [one, weighted] = await Promise.all([
        takeMany(limiter, key('a'), 100),
        takeMany(limiter, key('b'), 40, 3),
      ]);
      expect(passed(one)).toBe(10);
      expect(passed(weighted)).toBe(10);
    });

    it('passes a weight above max only with a full budget, then owes the excess', async () => {
      const { limiter, key } = await setup({
        a: { max: 5, durationMs: MINUTE },
        b: { max: 5, durationMs: MINUTE },
      });
      expect((await limiter.take(key('a'), 8)).ok).toBe(true);
      const owed = retryAfter(await limiter.take(key('a'), 1));
      // One unit frees every 12 s; a limiter that forgot the debt would answer about that.
      expect(owed).toBeGreaterThan(12_000 + TOLERANCE_MS);
      expect(owed).toBeLessThanOrEqual((8 / 5) * MINUTE + TOLERANCE_MS);

      expect((await limiter.take(key('b'), 1)).ok).toBe(true);
      const untilFull = retryAfter(await limiter.take(key('b'), 8));
      expect(untilFull).toBeGreaterThan(0);
      expect(untilFull).toBeLessThanOrEqual(MINUTE + TOLERANCE_MS);
    });

    it('lets a unit through again once the budget refills', async () => {
      const { limiter, key } = await setup({ a: { max: 2, durationMs: 1_000 } });
      await takeMany(limiter, key('a'), 2);
      const wait = retryAfter(await limiter.take(key('a')));
      expect(wait).toBeLessThanOrEqual(1_000 + TOLERANCE_MS);
      await sleep(wait + 200);
      expect((await limiter.take(key('a'))).ok).toBe(true);
    });

    it('blocks only the backed-off key, for the given time', async () => {
      const { limiter, key } = await setup({
        a: { max: 100, durationMs: MINUTE },
        b: { max: 100, durationMs: MINUTE },
      });
      await limiter.backoff(key('a'), 30_000);
      const blocked = retryAfter(await limiter.take(key('a')));
      expect(blocked).toBeGreaterThan(30_000 - TOLERANCE_MS);
      expect(blocked).toBeLessThanOrEqual(30_000 + TOLERANCE_MS);
      expect((await limiter.take(key('b'))).ok).toBe(true);
    });

    it('does not cut a longer backoff short with a shorter one', async () => {
      const { limiter, key } = await setup({ a: { max: 100, durationMs: MINUTE } });
      await limiter.backoff(key('a'), 30_000);
      await limiter.backoff(key('a'), 1_000);
      expect(retryAfter(await limiter.take(key('a')))).toBeGreaterThan(30_000 - TOLERANCE_MS);
    });

    it('backs off a key without a limit too (the provider throttled it)', async () => {
      const { limiter, key } = await setup({});
      await limiter.backoff(key('free'), 30_000);
      expect((await limiter.take(key('free'))).ok).toBe(false);
    });

    it('lets the key through again when the backoff ends', async () => {
      const { limiter, key } = await setup({ a: { max: 10, durationMs: 1_000 } });
      await limiter.backoff(key('a'), 300);
      expect((await limiter.take(key('a'))).ok).toBe(false);
      await sleep(700);
      expect((await limiter.take(key('a'))).ok).toBe(true);
    });
  });
}
