// Integration-test plumbing: a pool and a fresh migrated schema per test file (random name,
// dropped afterwards), so files run in parallel against one database. When PostgreSQL is
// unreachable the suites are skipped with a loud warning, except under CI=true, where they fail.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { migrate } from '../src/index.js';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function unreachableReason(): Promise<string | null> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const unreachable = await unreachableReason();
const isCi = process.env.CI === 'true';
if (unreachable !== null && !isCi) {
  console.warn(
    `\n!!! PostgreSQL is unreachable at ${DATABASE_URL} (${unreachable}).\n` +
      '!!! SKIPPING the @smsbatch/postgres-store integration tests. Start PostgreSQL or set\n' +
      '!!! DATABASE_URL to run them; with CI=true they fail instead of skipping.\n',
  );
}

/** `describe` for suites that need PostgreSQL; under CI an unreachable database fails them. */
export const describePg = (
  unreachable !== null && !isCi ? describe.skip : describe
) as typeof describe;

export interface TestSchema {
  readonly pool: pg.Pool;
  readonly schema: string;
}

export function randomSchema(): string {
  return `test_${randomBytes(6).toString('hex')}`;
}

export function createTestPool(max = 8): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max });
  // Tests terminate backends on purpose; an idle client's error must not crash the run.
  pool.on('error', () => {});
  return pool;
}

/** Call inside a describe: a pool and a migrated schema of its own, dropped after the suite. */
export function useTestSchema(options: { poolSize?: number; migrate?: boolean } = {}): TestSchema {
  let pool: pg.Pool | undefined;
  const schema = randomSchema();
  beforeAll(async () => {
    pool = createTestPool(options.poolSize);
    if (options.migrate !== false) await migrate(pool, { schema });
  });
  afterAll(async () => {
    if (!pool) return;
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });
  return {
    get pool() {
      if (!pool) throw new Error('the test pool exists only inside the suite');
      return pool;
    },
    schema,
  };
}
