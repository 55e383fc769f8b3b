// The Redis limiter against core's RateLimiter contract, plus what only a shared store can show:
// one budget across clients, Redis's clock rather than the callers', and keys that expire.

import { createRedisRateLimiter, type RedisRateLimiter } from '@smsbatch/bullmq-adapter';
import { ValidationError } from '@smsbatch/core';
import { describeRateLimiter } from '@smsbatch/core/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { deleteKeys, describeRedis, REDIS_URL, randomPrefix } from '../support/services.js';
import { sleep } from '../support/wait.js';

describeRedis('createRedisRateLimiter', () => {
  describeRateLimiter('redis', (limits) => {
    const prefix = randomPrefix();
    const limiter = createRedisRateLimiter({ connection: REDIS_URL, prefix, limits });
    return {
      limiter,
      cleanup: async () => {
        await deleteKeys(prefix);
        await limiter.close();
      },
    };
  });

  const prefix = randomPrefix();
  const redis = new Redis(REDIS_URL);
  const opened: RedisRateLimiter[] = [];
  const open = (limits: Record<string, { max: number; durationMs: number }>) => {
    const limiter = createRedisRateLimiter({
      connection: REDIS_URL,
      prefix,
      limits: (key) => limits[key] ?? null,
    });
    opened.push(limiter);
    return limiter;
  };

  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await Promise.all(opened.map((limiter) => limiter.close()));
    await deleteKeys(prefix);
    redis.disconnect();
  });

  it('shares one budget between limiters on separate connections (worker processes)', async () => {
    const limits = { shared: { max: 30, durationMs: 60_000 } };
    const [a, b, c] = [open(limits), open(limits), open(limits)];
    const decisions = await Promise.all(
      [a, b, c].flatMap((limiter) => Array.from({ length: 20 }, () => limiter.take('shared'))),
    );
    expect(decisions.filter((d) => d.ok)).toHaveLength(30);
  });

  it("measures time with Redis's clock, not the caller's", async () => {
    const limiter = open({ clock: { max: 2, durationMs: 60_000 } });
    await limiter.take('clock', 2);
    // A limiter reading the process clock would see a refilled budget an hour later.
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
    expect((await limiter.take('clock')).ok).toBe(false);
  });

  it('lets a key expire once its debt has drained, so idle keys cost no memory', async () => {
    const limiter = open({ brief: { max: 10, durationMs: 400 } });
    await limiter.take('brief', 10);
    await limiter.backoff('free', 300);
    const ttl = await redis.pttl(`${prefix}:rl:brief`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_400);
    expect(await redis.pttl(`${prefix}:rl:free`)).toBeLessThanOrEqual(1_300);
    await sleep(1_500);
    expect(await redis.exists(`${prefix}:rl:brief`, `${prefix}:rl:free`)).toBe(0);
  });

  it('keeps nothing for a key without a limit or a backoff', async () => {
    const limiter = open({});
    await limiter.take('nobody', 5);
    expect(await redis.exists(`${prefix}:rl:nobody`)).toBe(0);
  });

  it('refuses a bad weight or limit with a ValidationError', async () => {
    const limiter = open({ bad: { max: 0, durationMs: 1000 } });
    await expect(limiter.take('other', 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(limiter.take('bad')).rejects.toThrow(/limits\.bad\.max/);
  });
});
