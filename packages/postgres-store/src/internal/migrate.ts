// Applies the package's migrations to one schema. The whole run is one transaction behind an
// advisory lock keyed on the schema: two processes starting together apply each migration once,
// the second one waiting and then finding nothing left to do.

import type { Pool } from 'pg';
import { createDb, type RetryOptions } from './db.js';
import { MIGRATIONS } from './migrations/index.js';
import { quoteSchema, schemaLockKey } from './schema.js';

export interface MigrateOptions {
  /** The PostgreSQL schema to hold the tables; created when missing. */
  schema: string;
  retry?: RetryOptions;
}

export interface MigrateResult {
  /** Migrations applied by this call, as `NNN_name`; empty when the schema was up to date. */
  applied: string[];
}

export async function migrate(pool: Pool, options: MigrateOptions): Promise<MigrateResult> {
  const schema = quoteSchema(options.schema);
  const db = createDb(pool, options.retry);
  return db
    .transaction(async (tx) => {
      await tx.run({
        text: 'SELECT pg_advisory_xact_lock($1::bigint)',
        values: [schemaLockKey(options.schema)],
      });
      await tx.exec(`
      CREATE SCHEMA IF NOT EXISTS ${schema};
      CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = await tx.run<{ version: number }>({
        text: `SELECT version FROM ${schema}.schema_migrations`,
        values: [],
      });
      const doneVersions = new Set(done.map((row) => row.version));
      const applied: string[] = [];
      // Unqualified names in the migrations land in the target schema, for this transaction only.
      await tx.run({ text: `SELECT set_config('search_path', $1, true)`, values: [schema] });
      for (const migration of MIGRATIONS) {
        if (doneVersions.has(migration.version)) continue;
        await tx.exec(migration.sql);
        await tx.run({
          text: `INSERT INTO ${schema}.schema_migrations (version, name) VALUES ($1, $2)`,
          values: [migration.version, migration.name],
        });
        applied.push(`${String(migration.version).padStart(3, '0')}_${migration.name}`);
      }
      return applied;
    })
    .then((applied) => ({ applied }));
}
