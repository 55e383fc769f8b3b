// Figures sampled while a campaign runs: Redis memory (the whole instance, and our prefix's keys
// alone, since other suites share the instance) and PostgreSQL row writes of one schema.

import type pg from 'pg';
import { prefixMemory, usedMemory, withRedis } from './services.js';

export interface RedisFigures {
  /** `used_memory` when sampling started, MB. */
  usedMemoryStartMb: number;
  /** Largest `used_memory` growth over the start seen while sampling, MB. */
  usedMemoryGrowthMb: number;
  /** Largest `MEMORY USAGE` sum over our prefix's keys seen while sampling, MB. */
  prefixPeakMb: number;
  prefixPeakKeys: number;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

export async function startRedisSampler(redisUrl: string, prefix: string, everyMs = 1_000) {
  return withRedis(redisUrl, async (redis) => {
    const start = await usedMemory(redis);
    return start;
  }).then((start) => {
    let peakUsed = start;
    let peakPrefix = { keys: 0, bytes: 0 };
    let stopped = false;
    const loop = withRedis(redisUrl, async (redis) => {
      while (!stopped) {
        peakUsed = Math.max(peakUsed, await usedMemory(redis));
        const mine = await prefixMemory(redis, prefix);
        if (mine.bytes > peakPrefix.bytes) peakPrefix = mine;
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
    });
    return {
      async stop(): Promise<RedisFigures> {
        stopped = true;
        await loop;
        return {
          usedMemoryStartMb: mb(start),
          usedMemoryGrowthMb: mb(peakUsed - start),
          prefixPeakMb: mb(peakPrefix.bytes),
          prefixPeakKeys: peakPrefix.keys,
        };
      },
    };
  });
}

export interface RowCounts {
  inserted: number;
  updated: number;
  hotUpdated: number;
  deleted: number;
}

/**
 * Rows written to the schema's tables, recipients excepted (create writes those, untimed).
 * PostgreSQL 15 publishes a session's counters at most once a second, and a session that went
 * idle right after a flush publishes the rest 10 s later (PGSTAT_IDLE_INTERVAL): with `waitMs`
 * this reads after that, then until three reads a second apart agree.
 */
export async function settledRowCounts(
  pool: pg.Pool,
  schema: string,
  waitMs = 10_500,
): Promise<RowCounts> {
  const read = async (): Promise<RowCounts> => {
    const { rows } = await pool.query(
      `SELECT coalesce(sum(n_tup_ins), 0)::bigint AS ins, coalesce(sum(n_tup_upd), 0)::bigint AS upd,
              coalesce(sum(n_tup_hot_upd), 0)::bigint AS hot, coalesce(sum(n_tup_del), 0)::bigint AS del
         FROM pg_stat_user_tables WHERE schemaname = $1 AND relname <> 'recipients'`,
      [schema],
    );
    const row = rows[0] as Record<string, string>;
    return {
      inserted: Number(row.ins),
      updated: Number(row.upd),
      hotUpdated: Number(row.hot),
      deleted: Number(row.del),
    };
  };
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  let previous = await read();
  let stableReads = 0;
  for (let i = 0; i < 20 && stableReads < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const next = await read();
    stableReads = JSON.stringify(next) === JSON.stringify(previous) ? stableReads + 1 : 0;
    previous = next;
  }
  return previous;
}
