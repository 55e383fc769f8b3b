// The CreditLedger port on PostgreSQL. The invariants (balance >= 0, 0 <= reserved <= balance,
// captured + released <= amount) are CHECK constraints; the writes are single guarded statements
// (ledger-statements.ts), so parallel reserves cannot overspend and a retried capture or release
// finds its entry id taken and changes nothing.

import {
  type Balance,
  type Clock,
  type CreditLedger,
  type Hold,
  HoldClosedError,
  HoldExceededError,
  HoldNotFoundError,
  InsufficientCreditsError,
  type LedgerEntry,
  systemClock,
  ValidationError,
} from '@smsbatch/core';
import type { Pool } from 'pg';
import { createDb, type RetryOptions, type Row } from './db.js';
import { isPostgresStoreError } from './errors.js';
import { ledgerStatements } from './ledger-statements.js';

export interface PostgresLedgerOptions {
  /** The schema `migrate` prepared. */
  schema: string;
  /** Stamps the entries (default: the system clock). */
  clock?: Clock;
  retry?: RetryOptions;
}

function requireAmount(amount: number, kind: 'positive' | 'non-negative'): void {
  const min = kind === 'positive' ? 1 : 0;
  if (!Number.isSafeInteger(amount) || amount < min) {
    throw new ValidationError([{ path: ['amount'], message: `must be a ${kind} integer` }]);
  }
}

function toHold(row: Row): Hold {
  const amount = Number(row.amount);
  const captured = Number(row.captured);
  const released = Number(row.released);
  return {
    id: row.id as string,
    ownerId: row.owner_id as string,
    amount,
    captured,
    released,
    remaining: amount - captured - released,
    isClosed: row.is_closed as boolean,
  };
}

function toBalance(row: Row | undefined): Balance {
  const balance = row ? Number(row.balance) : 0;
  const reserved = row ? Number(row.reserved) : 0;
  return { balance, reserved, available: balance - reserved };
}

function toEntry(row: Row): LedgerEntry {
  const entry: LedgerEntry = {
    id: row.id as string,
    ownerId: row.owner_id as string,
    kind: row.kind as LedgerEntry['kind'],
    amount: Number(row.amount),
    holdId: row.hold_id as string | null,
    createdAt: Number(row.created_at),
  };
  // Meta fields appear only when they were given, as in the entry that was recorded.
  if (row.reason !== null) entry.reason = row.reason as string;
  if (row.campaign_id !== null) entry.campaignId = row.campaign_id as string;
  if (row.batch_no !== null) entry.batchNo = Number(row.batch_no);
  if (row.message_id !== null) entry.messageId = row.message_id as string;
  return entry;
}

/** A concurrent call with the same entry (or hold) id committed first: ours is the retry. */
function isDuplicate(error: unknown): boolean {
  return isPostgresStoreError(error) && error.sqlState === '23505';
}

export function createPostgresLedger(pool: Pool, options: PostgresLedgerOptions): CreditLedger {
  const sql = ledgerStatements(options.schema);
  const db = createDb(pool, options.retry);
  const clock = options.clock ?? systemClock;

  const holdState = async (holdId: string, entryId: string | null) => {
    const [row] = await db.run(sql.holdState(holdId, entryId));
    if (!row) throw new HoldNotFoundError(holdId);
    return { hold: toHold(row), isEntryUsed: row.entry_used as boolean };
  };

  /** Runs a guarded hold write; a duplicate-id failure means a concurrent twin already did it. */
  const guardedWrite = async (holdId: string, write: () => Promise<Row[]>) => {
    try {
      const [row] = await write();
      return row ? toHold(row) : null;
    } catch (error) {
      if (!isDuplicate(error)) throw error;
      return (await holdState(holdId, null)).hold;
    }
  };

  return {
    async credit(ownerId, amount, entryId, meta) {
      requireAmount(amount, 'positive');
      const [row] = await db.run(sql.credit(ownerId, amount, entryId, meta, clock.now()));
      return toBalance(row);
    },

    async reserve(ownerId, amount, holdId, meta) {
      requireAmount(amount, 'positive');
      try {
        const [row] = await db.run(sql.reserve(ownerId, amount, holdId, meta, clock.now()));
        if (row) return toHold(row);
      } catch (error) {
        if (!isDuplicate(error)) throw error;
      }
      const [existing] = await db.run(sql.holdState(holdId, null));
      if (existing) return toHold(existing);
      const [account] = await db.run(sql.balance(ownerId));
      throw new InsufficientCreditsError(amount, toBalance(account).available);
    },

    async capture(holdId, amount, entryId, meta) {
      requireAmount(amount, 'non-negative');
      if (amount === 0) return (await holdState(holdId, null)).hold;
      const written = await guardedWrite(holdId, () =>
        db.run(sql.capture(holdId, amount, entryId, meta, clock.now())),
      );
      if (written) return written;
      // The write changed nothing: say why, in the port's order of checks.
      const { hold, isEntryUsed } = await holdState(holdId, entryId);
      if (isEntryUsed) return hold;
      if (hold.isClosed) throw new HoldClosedError(holdId);
      throw new HoldExceededError(holdId, amount, hold.remaining);
    },

    async release(holdId, { amount, entryId }, meta) {
      if (amount !== undefined) requireAmount(amount, 'non-negative');
      if (amount === 0) return (await holdState(holdId, null)).hold;
      const written = await guardedWrite(holdId, () =>
        db.run(sql.release(holdId, amount ?? null, entryId, meta, clock.now())),
      );
      if (written) return written;
      const { hold, isEntryUsed } = await holdState(holdId, entryId);
      // Releasing a closed hold again, or with a used entry id, is a no-op.
      if (isEntryUsed || hold.isClosed) return hold;
      throw new HoldExceededError(holdId, amount ?? hold.remaining, hold.remaining);
    },

    async getHold(holdId) {
      const [row] = await db.run(sql.holdState(holdId, null));
      return row ? toHold(row) : null;
    },

    async balance(ownerId) {
      const [row] = await db.run(sql.balance(ownerId));
      return toBalance(row);
    },

    async entries(ownerId, { limit, cursor }) {
      if (!Number.isInteger(limit) || limit < 1) {
        throw new ValidationError([{ path: ['limit'], message: 'must be a positive integer' }]);
      }
      if (cursor != null && !/^\d+$/.test(cursor)) {
        throw new ValidationError([
          { path: ['cursor'], message: 'is not a cursor of this ledger' },
        ]);
      }
      const before = cursor == null ? null : Number(cursor);
      const rows = await db.run(sql.entries(ownerId, before, limit + 1));
      const kept = rows.slice(0, limit);
      const last = kept.at(-1);
      return {
        items: kept.map(toEntry),
        nextCursor: rows.length > limit && last ? String(last.seq) : null,
      };
    },
  };
}
