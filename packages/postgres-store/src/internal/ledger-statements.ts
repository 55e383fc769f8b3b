// Every statement the CreditLedger sends, built once per schema. Each operation is a single
// statement: a conditional update (`WHERE balance - reserved >= amount`, `WHERE remaining >=
// amount`) re-checked by PostgreSQL on the latest row version, plus the entry insert whose unique
// id turns a retried call into a no-op. Nothing is read first and written later.

import type { EntryMeta } from '@smsbatch/core';
import type { Statement } from './db.js';
import { quoteSchema } from './schema.js';

const HOLD_COLUMNS = 'id, owner_id, amount, captured, released, is_closed';

const ENTRY_COLUMNS = `id, owner_id, kind, amount, hold_id, reason, campaign_id, batch_no,
  message_id, created_at`;

function metaValues(meta: EntryMeta | undefined, now: number): unknown[] {
  return [
    meta?.reason ?? null,
    meta?.campaignId ?? null,
    meta?.batchNo ?? null,
    meta?.messageId ?? null,
    now,
  ];
}

export function ledgerStatements(schemaName: string) {
  const schema = quoteSchema(schemaName);
  const accounts = `${schema}.ledger_accounts`;
  const holds = `${schema}.ledger_holds`;
  const entries = `${schema}.ledger_entries`;
  // $4..$8 of every write: the entry's meta and time.
  const meta = '$4, $5, $6, $7, $8';
  const entryUsed = (param: string) =>
    `EXISTS (SELECT 1 FROM ${entries} WHERE id = ${param} AND kind <> 'hold')`;

  return {
    /** Returns the balance after the credit, or as it is when the entry id was used. */
    credit: (
      ownerId: string,
      amount: number,
      entryId: string,
      entryMeta: EntryMeta | undefined,
      now: number,
    ): Statement => ({
      text: `WITH entry AS (
          INSERT INTO ${entries} (${ENTRY_COLUMNS})
          VALUES ($3, $1, 'credit', $2, NULL, ${meta})
          ON CONFLICT (id) WHERE kind <> 'hold' DO NOTHING
          RETURNING amount
        ),
        account AS (
          INSERT INTO ${accounts} AS a (owner_id, balance) SELECT $1, amount FROM entry
          ON CONFLICT (owner_id) DO UPDATE SET balance = a.balance + EXCLUDED.balance
          RETURNING balance, reserved
        )
        SELECT balance, reserved FROM account
        UNION ALL
        SELECT balance, reserved FROM ${accounts}
        WHERE owner_id = $1 AND NOT EXISTS (SELECT 1 FROM entry)`,
      values: [ownerId, amount, entryId, ...metaValues(entryMeta, now)],
    }),

    /** Returns the new hold; no row when the hold exists or the credits are not available. */
    reserve: (
      ownerId: string,
      amount: number,
      holdId: string,
      entryMeta: EntryMeta | undefined,
      now: number,
    ): Statement => ({
      text: `WITH account AS (
          UPDATE ${accounts} SET reserved = reserved + $2
          WHERE owner_id = $1 AND balance - reserved >= $2
            AND NOT EXISTS (SELECT 1 FROM ${holds} WHERE id = $3)
          RETURNING owner_id
        ),
        hold AS (
          INSERT INTO ${holds} (id, owner_id, amount, created_at)
          SELECT $3, owner_id, $2, $8 FROM account
          RETURNING ${HOLD_COLUMNS}
        ),
        entry AS (
          INSERT INTO ${entries} (${ENTRY_COLUMNS})
          SELECT id, owner_id, 'hold', amount, id, ${meta} FROM hold
        )
        SELECT ${HOLD_COLUMNS} FROM hold`,
      values: [ownerId, amount, holdId, ...metaValues(entryMeta, now)],
    }),

    /** Returns the hold after the capture; no row when any guard failed. */
    capture: (
      holdId: string,
      amount: number,
      entryId: string,
      entryMeta: EntryMeta | undefined,
      now: number,
    ): Statement => ({
      text: `WITH hold AS (
          UPDATE ${holds} SET captured = captured + $2
          WHERE id = $1 AND NOT is_closed AND amount - captured - released >= $2
            AND NOT ${entryUsed('$3')}
          RETURNING ${HOLD_COLUMNS}
        ),
        account AS (
          UPDATE ${accounts} a SET balance = a.balance - $2, reserved = a.reserved - $2
          FROM hold WHERE a.owner_id = hold.owner_id
        ),
        entry AS (
          INSERT INTO ${entries} (${ENTRY_COLUMNS})
          SELECT $3, owner_id, 'capture', $2, id, ${meta} FROM hold
        )
        SELECT ${HOLD_COLUMNS} FROM hold`,
      values: [holdId, amount, entryId, ...metaValues(entryMeta, now)],
    }),

    /**
     * `amount` null releases all that remains and closes the hold. `current` locks the hold and
     * reads what remains on its latest version, which is what the account gets back.
     */
    release: (
      holdId: string,
      amount: number | null,
      entryId: string,
      entryMeta: EntryMeta | undefined,
      now: number,
    ): Statement => ({
      text: `WITH current AS MATERIALIZED (
          SELECT id, amount - captured - released AS remaining FROM ${holds}
          WHERE id = $1 AND NOT is_closed FOR UPDATE
        ),
        hold AS (
          UPDATE ${holds} h SET released = h.released + coalesce($2::bigint, c.remaining),
            is_closed = $2::bigint IS NULL
          FROM current c
          WHERE h.id = c.id AND coalesce($2::bigint, 0) <= c.remaining AND NOT ${entryUsed('$3')}
          RETURNING h.id, h.owner_id, h.amount, h.captured, h.released, h.is_closed,
            coalesce($2::bigint, c.remaining) AS delta
        ),
        account AS (
          UPDATE ${accounts} a SET reserved = a.reserved - hold.delta
          FROM hold WHERE a.owner_id = hold.owner_id
        ),
        entry AS (
          INSERT INTO ${entries} (${ENTRY_COLUMNS})
          SELECT $3, owner_id, 'release', delta, id, ${meta} FROM hold
        )
        SELECT ${HOLD_COLUMNS} FROM hold`,
      values: [holdId, amount, entryId, ...metaValues(entryMeta, now)],
    }),

    /** The hold, and whether `entryId` was used: explains why a write did nothing. */
    holdState: (holdId: string, entryId: string | null): Statement => ({
      text: `SELECT ${HOLD_COLUMNS}, ${entryUsed('$2')} AS entry_used FROM ${holds} WHERE id = $1`,
      values: [holdId, entryId],
    }),

    balance: (ownerId: string): Statement => ({
      text: `SELECT balance, reserved FROM ${accounts} WHERE owner_id = $1`,
      values: [ownerId],
    }),

    /** Newest first; `before` is the `seq` of the last entry of the previous page. */
    entries: (ownerId: string, before: number | null, limit: number): Statement => ({
      text: `SELECT seq, ${ENTRY_COLUMNS} FROM ${entries}
        WHERE owner_id = $1 ${before === null ? '' : 'AND seq < $3'}
        ORDER BY seq DESC LIMIT $2`,
      values: before === null ? [ownerId, limit] : [ownerId, limit, before],
    }),
  };
}
