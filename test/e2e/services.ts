// The real services the end-to-end suites need. Unreachable ones skip their suites with a loud
// warning, except under CI=true, where the suites run and fail.

import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe } from 'vitest';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function problem(check: () => Promise<unknown>): Promise<string | null> {
  try {
    await check();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const postgresProblem = await problem(async () => {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
});

const redisProblem = await problem(async () => {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } finally {
    redis.disconnect();
  }
});

function gate(name: string, url: string, reason: string | null): typeof describe {
  if (reason === null || process.env.CI === 'true') return describe;
  console.warn(
    `\n!!! ${name} is unreachable at ${url} (${reason}).\n!!! SKIPPING the end-to-end suites that need it; with CI=true they fail instead.\n`,
  );
  return describe.skip as typeof describe;
}

export const describeWithPostgres = gate('PostgreSQL', DATABASE_URL, postgresProblem);
export const describeWithRedis = gate('Redis', REDIS_URL, redisProblem);

export const randomName = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;

/** A pool for one schema of its own; `drop()` removes the schema and ends the pool. */
export function schemaPool(schema: string, max = 10) {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max });
  pool.on('error', () => {});
  return {
    pool,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
