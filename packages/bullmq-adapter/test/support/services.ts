// Redis and PostgreSQL for the integration tests: their URLs, a reachability check run once per
// file, and per-test isolation (a random key prefix, a random schema). Unreachable services skip
// the suites with a loud warning, except under CI=true, where the suites run and fail.

import { randomBytes } from 'node:crypto';
import { migrate } from '@smsbatch/postgres-store';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe } from 'vitest';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

async function redisProblem(): Promise<string | null> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return reason(error);
  } finally {
    client.disconnect();
  }
}

async function postgresProblem(): Promise<string | null> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return reason(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const isCi = process.env.CI === 'true';
const [redisDown, postgresDown] = await Promise.all([redisProblem(), postgresProblem()]);

function warnSkipped(service: string, url: string, problem: string) {
  console.warn(
    `\n!!! ${service} is unreachable at ${url} (${problem}).\n` +
      '!!! SKIPPING @smsbatch/bullmq-adapter integration tests that need it. Start it or set\n' +
      '!!! REDIS_URL / DATABASE_URL; with CI=true these tests fail instead of skipping.\n',
  );
}
if (!isCi && redisDown !== null) warnSkipped('Redis', REDIS_URL, redisDown);
if (!isCi && postgresDown !== null) warnSkipped('PostgreSQL', DATABASE_URL, postgresDown);

/** `describe` for suites that need Redis. */
export const describeRedis = (
  !isCi && redisDown !== null ? describe.skip : describe
) as typeof describe;
/** `describe` for suites that need Redis and PostgreSQL. */
export const describeServices = (
  !isCi && (redisDown !== null || postgresDown !== null) ? describe.skip : describe
) as typeof describe;

/** A key prefix of its own for a test: BullMQ queues and limiter keys live under it. */
export const randomPrefix = () => `t${randomBytes(5).toString('hex')}`;

/** Deletes every key under `prefix` (a test's leftovers, or a simulated loss of its data). */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<number> {
  const client = new Redis(url);
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

export interface TestDatabase {
  pool: pg.Pool;
  schema: string;
  drop(): Promise<void>;
}

/** A pool and a freshly migrated schema of a random name; `drop()` removes both. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const schema = `bq_${randomBytes(6).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 });
  pool.on('error', () => {});
  await migrate(pool, { schema });
  return {
    pool,
    schema,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
