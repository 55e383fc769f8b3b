// `createRedisRateLimiter`: core's RateLimiter as one atomic Lua GCRA per take, so every worker
// process shares one budget per key. Time comes from Redis (`TIME`), not from the callers' clocks,
// and each key expires once its debt has drained, so idle keys cost no memory.

import {
  assertRateLimit,
  assertRateWeight,
  type RateDecision,
  type RateLimiter,
  silentLogger,
} from '@smsbatch/core';
import type { Redis } from 'ioredis';
import { openRedis } from './connection.js';
import { BullmqAdapterError, redisCall } from './errors.js';
import { parseOptions, type RedisRateLimiterOptions, rateLimiterOptionsSchema } from './options.js';

export type RedisRateLimiter = RateLimiter & {
  /** Closes the Redis connection if the limiter opened it. */
  close(): Promise<void>;
};

// State per key, a hash: `debt` (budget in use, in weight × ms units: one unit of weight costs
// `dur` and `max` units drain per ms, the in-memory limiter's exact integer arithmetic), `at` (when
// the debt was measured), `dur` (the window it was measured in, to rescale on a limit change) and
// `until` (end of a backoff). Shared by both scripts: read the state and drain the debt to `now`.
const LOAD_STATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max = tonumber(ARGV[2])
local dur = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'debt', 'at', 'dur', 'until')
local blocked = tonumber(s[4]) or 0
local debt = 0
if max > 0 and s[1] then
  debt = tonumber(s[1])
  local seenDur = tonumber(s[3])
  if seenDur ~= dur then debt = debt / seenDur * dur end
  debt = math.max(0, debt - math.max(0, now - tonumber(s[2])) * max)
end
local function save()
  if debt <= 0 and blocked <= now then
    redis.call('DEL', KEYS[1])
    return
  end
  -- Lua would write numbers with 14 digits; 17 keep a large or rescaled debt exact.
  redis.call('HSET', KEYS[1], 'debt', string.format('%.17g', debt), 'at', now, 'dur', dur,
    'until', blocked)
  local drained = 0
  if max > 0 then drained = math.ceil(debt / max) end
  -- Past this the state equals no state; the margin covers a limit shrinking meanwhile.
  redis.call('PEXPIRE', KEYS[1], math.max(drained, blocked - now) + 1000)
end
`;

/** ARGV: weight, max (0: no limit), durationMs. Returns 0 when taken, else the wait in ms. */
const TAKE = `${LOAD_STATE}
local weight = tonumber(ARGV[1])
local wait = blocked - now
if max > 0 then
  -- A weight above max needs the whole budget, then owes the excess as debt.
  local excess = debt + (weight - max) * dur
  if weight > max then excess = debt end
  wait = math.max(wait, excess / max)
end
if wait > 0 then return math.ceil(wait) end
if max > 0 then debt = debt + weight * dur end
save()
return 0
`;

/** ARGV: ms, max (0: no limit), durationMs. A shorter backoff never cuts a longer one short. */
const BACKOFF = `${LOAD_STATE}
blocked = math.max(blocked, now + tonumber(ARGV[1]))
save()
return 0
`;

interface LimiterCommands {
  smsbatchRateTake(key: string, weight: number, max: number, durationMs: number): Promise<number>;
  smsbatchRateBackoff(key: string, ms: number, max: number, durationMs: number): Promise<number>;
}

export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  const settings = parseOptions(rateLimiterOptionsSchema, options);
  const redis = openRedis(settings.connection, settings.logger ?? silentLogger);
  const commands = defineCommands(redis.client);
  const keyOf = (key: string) => `${settings.prefix}:rl:${key}`;
  let closing: Promise<void> | null = null;

  /** The script arguments of a key's limit: max 0 stands for "no limit". */
  const limitArgs = (key: string): [number, number] => {
    const limit = settings.limits(key);
    if (!limit) return [0, 1];
    assertRateLimit(key, limit);
    return [limit.max, limit.durationMs];
  };

  const assertOpen = () => {
    if (closing) throw new BullmqAdapterError('closed', 'the rate limiter is closed');
  };

  return {
    async take(key, weight = 1): Promise<RateDecision> {
      assertOpen();
      assertRateWeight(weight);
      const [max, durationMs] = limitArgs(key);
      const wait = await redisCall(`rate limit take(${key})`, () =>
        commands.smsbatchRateTake(keyOf(key), weight, max, durationMs),
      );
      return wait > 0 ? { ok: false, retryAfterMs: wait } : { ok: true };
    },

    async backoff(key, ms) {
      assertOpen();
      if (!(ms > 0)) return;
      const [max, durationMs] = limitArgs(key);
      await redisCall(`rate limit backoff(${key})`, () =>
        commands.smsbatchRateBackoff(keyOf(key), Math.ceil(ms), max, durationMs),
      );
    },

    close() {
      closing ??= redis.close();
      return closing;
    },
  };
}

function defineCommands(client: Redis): LimiterCommands {
  // ioredis sends EVALSHA and falls back to EVAL when Redis lost the script (a restart).
  client.defineCommand('smsbatchRateTake', { numberOfKeys: 1, lua: TAKE });
  client.defineCommand('smsbatchRateBackoff', { numberOfKeys: 1, lua: BACKOFF });
  return client as unknown as LimiterCommands;
}
