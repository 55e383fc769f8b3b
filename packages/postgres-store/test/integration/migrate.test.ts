// Migrations: versioned, recorded, idempotent, safe when two processes start together, and
// confined to the schema they were given.

import { isValidationError } from '@smsbatch/core';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/index.js';
import { createTestPool, describePg, randomSchema } from '../helpers.js';

describePg('migrate', () => {
  let pool: pg.Pool;
  const schemas: string[] = [];
  const fresh = () => {
    const schema = randomSchema();
    schemas.push(schema);
    return schema;
  };

  beforeAll(() => {
    pool = createTestPool(6);
  });
  afterAll(async () => {
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  const tablesOf = async (schema: string) =>
    (
      await pool.query<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
        [schema],
      )
    ).rows.map((row) => row.table_name);

  it('creates the schema and its tables, records the migration, and applies nothing twice', async () => {
    const schema = fresh();
    expect(await migrate(pool, { schema })).toEqual({
      applied: ['001_initial', '002_batch_dispatch'],
    });
    expect(await tablesOf(schema)).toEqual([
      'batches',
      'bulk_batches',
      'campaign_counters',
      'campaigns',
      'delivery_events',
      'ledger_accounts',
      'ledger_entries',
      'ledger_holds',
      'message_provider_ids',
      'messages',
      'recipients',
      'schema_migrations',
    ]);
    expect(await migrate(pool, { schema })).toEqual({ applied: [] });
    const recorded = await pool.query(`SELECT version, name FROM "${schema}".schema_migrations`);
    expect(recorded.rows).toEqual([
      { version: 1, name: 'initial' },
      { version: 2, name: 'batch_dispatch' },
    ]);
  });

  it('applies each migration once when several processes migrate at the same moment', async () => {
    const schema = fresh();
    // Separate pools stand for separate processes; each call holds its own connection.
    const pools = [createTestPool(1), createTestPool(1), createTestPool(1), createTestPool(1)];
    try {
      const results = await Promise.all(pools.map((each) => migrate(each, { schema })));
      expect(results.map((r) => r.applied).sort()).toEqual([
        [],
        [],
        [],
        ['001_initial', '002_batch_dispatch'],
      ]);
    } finally {
      await Promise.all(pools.map((each) => each.end()));
    }
    const recorded = await pool.query(
      `SELECT count(*)::int AS n FROM "${schema}".schema_migrations`,
    );
    expect(recorded.rows[0].n).toBe(2);
  });

  it('keeps schemas apart', async () => {
    const [a, b] = [fresh(), fresh()];
    await Promise.all([migrate(pool, { schema: a }), migrate(pool, { schema: b })]);
    await pool.query(`INSERT INTO "${a}".ledger_accounts (owner_id, balance) VALUES ('o', 5)`);
    const inB = await pool.query(`SELECT count(*)::int AS n FROM "${b}".ledger_accounts`);
    expect(inB.rows[0].n).toBe(0);
  });

  it('accepts a mixed-case schema name and quotes it', async () => {
    const schema = `Mixed_${fresh()}`;
    schemas.push(schema);
    await migrate(pool, { schema });
    expect(await tablesOf(schema)).toContain('messages');
  });

  it('refuses a schema name that is not a plain identifier, before touching the database', async () => {
    for (const schema of [
      '',
      'has-dash',
      '1starts_with_digit',
      'x"; DROP SCHEMA public; --',
      'a'.repeat(64),
    ]) {
      const error = await migrate(pool, { schema }).catch((e: unknown) => e);
      expect(isValidationError(error), schema).toBe(true);
      expect(error).toMatchObject({ issues: [expect.objectContaining({ path: ['schema'] })] });
    }
  });
});
