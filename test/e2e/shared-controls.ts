// What the end-to-end scenarios change mid-run, kept in PostgreSQL so worker processes see it:
// opt-outs (a SuppressionList) and a one-shot fault (the next store write of an accepted send
// fails). Tables live in the scenario's own schema.

import type { CampaignStore, SuppressionList } from '@smsbatch/core';
import type pg from 'pg';

export async function createControlTables(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS "${schema}".e2e_suppressions (owner_id text, phone text, PRIMARY KEY (owner_id, phone));
    CREATE TABLE IF NOT EXISTS "${schema}".e2e_faults (name text PRIMARY KEY, remaining int NOT NULL);`);
}

export function postgresSuppressionList(
  pool: pg.Pool,
  schema: string,
): SuppressionList & {
  add(ownerId: string, phones: readonly string[]): Promise<void>;
} {
  return {
    async filterSuppressed(ownerId, phones) {
      const { rows } = await pool.query<{ phone: string }>(
        `SELECT phone FROM "${schema}".e2e_suppressions WHERE owner_id = $1 AND phone = ANY($2::text[])`,
        [ownerId, phones],
      );
      return new Set(rows.map((r) => r.phone));
    },
    async add(ownerId, phones) {
      await pool.query(
        `INSERT INTO "${schema}".e2e_suppressions SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
        [ownerId, phones],
      );
    },
  };
}

export async function armRecordFault(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(
    `INSERT INTO "${schema}".e2e_faults VALUES ('record', 1)
     ON CONFLICT (name) DO UPDATE SET remaining = 1`,
  );
}

/** The store of a worker process, failing the write of an accepted send while the fault is armed. */
export function withSharedRecordFault(
  store: CampaignStore,
  pool: pg.Pool,
  schema: string,
): CampaignStore {
  return {
    ...store,
    applyTransitions: async (transitions, options) => {
      if (transitions.some((t) => t.to === 'sent')) {
        const { rowCount } = await pool.query(
          `UPDATE "${schema}".e2e_faults SET remaining = remaining - 1 WHERE name = 'record' AND remaining > 0`,
        );
        if (rowCount) throw new Error('Connection terminated unexpectedly');
      }
      return store.applyTransitions(transitions, options);
    },
  };
}
