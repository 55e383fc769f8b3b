// The in-memory CreditLedger: the embedded default of the demo and of single-process deployments.
// Every method checks and writes without an `await` in between, so concurrent calls on one
// event loop are serialised and cannot lose updates.

import type { Page } from '../domain/types.js';
import {
  HoldClosedError,
  HoldExceededError,
  HoldNotFoundError,
  InsufficientCreditsError,
  ValidationError,
} from '../errors.js';
import type {
  Balance,
  CreditLedger,
  EntryMeta,
  Hold,
  LedgerEntry,
  LedgerEntryKind,
} from '../ports/credit-ledger.js';
import { type Clock, systemClock } from '../ports/observability.js';

export interface MemoryLedgerOptions {
  clock?: Clock;
}

interface Account {
  balance: number;
  reserved: number;
  /** Oldest first; a page cursor is an index into it, which appends never shift. */
  entries: LedgerEntry[];
}

interface HoldState {
  id: string;
  ownerId: string;
  amount: number;
  captured: number;
  released: number;
  isClosed: boolean;
}

export function createMemoryLedger(options: MemoryLedgerOptions = {}): CreditLedger {
  const clock = options.clock ?? systemClock;
  const accounts = new Map<string, Account>();
  const holds = new Map<string, HoldState>();
  // One namespace for credit, capture and release ids, as a unique column would give.
  const usedEntryIds = new Set<string>();

  const accountOf = (ownerId: string): Account => {
    let account = accounts.get(ownerId);
    if (!account) {
      account = { balance: 0, reserved: 0, entries: [] };
      accounts.set(ownerId, account);
    }
    return account;
  };

  const holdOf = (holdId: string): HoldState => {
    const hold = holds.get(holdId);
    if (!hold) throw new HoldNotFoundError(holdId);
    return hold;
  };

  const record = (
    account: Account,
    entry: {
      id: string;
      ownerId: string;
      kind: LedgerEntryKind;
      amount: number;
      holdId: string | null;
    },
    meta: EntryMeta | undefined,
  ): void => {
    account.entries.push({ ...meta, ...entry, createdAt: clock.now() });
  };

  return {
    async credit(ownerId, amount, entryId, meta) {
      requireAmount(amount, 'positive');
      if (usedEntryIds.has(entryId)) return balanceOf(accounts.get(ownerId));
      usedEntryIds.add(entryId);
      const account = accountOf(ownerId);
      account.balance += amount;
      record(account, { id: entryId, ownerId, kind: 'credit', amount, holdId: null }, meta);
      return balanceOf(account);
    },

    async reserve(ownerId, amount, holdId, meta) {
      requireAmount(amount, 'positive');
      const existing = holds.get(holdId);
      if (existing) return snapshot(existing);
      const account = accounts.get(ownerId);
      const available = account ? account.balance - account.reserved : 0;
      if (!account || available < amount) throw new InsufficientCreditsError(amount, available);
      const hold: HoldState = {
        id: holdId,
        ownerId,
        amount,
        captured: 0,
        released: 0,
        isClosed: false,
      };
      holds.set(holdId, hold);
      account.reserved += amount;
      record(account, { id: holdId, ownerId, kind: 'hold', amount, holdId }, meta);
      return snapshot(hold);
    },

    async capture(holdId, amount, entryId, meta) {
      requireAmount(amount, 'non-negative');
      const hold = holdOf(holdId);
      if (amount === 0 || usedEntryIds.has(entryId)) return snapshot(hold);
      if (hold.isClosed) throw new HoldClosedError(holdId);
      const remaining = remainingOf(hold);
      if (amount > remaining) throw new HoldExceededError(holdId, amount, remaining);
      usedEntryIds.add(entryId);
      const account = accountOf(hold.ownerId);
      hold.captured += amount;
      account.reserved -= amount;
      account.balance -= amount;
      record(
        account,
        { id: entryId, ownerId: hold.ownerId, kind: 'capture', amount, holdId },
        meta,
      );
      return snapshot(hold);
    },

    async release(holdId, { amount, entryId }, meta) {
      if (amount !== undefined) requireAmount(amount, 'non-negative');
      const hold = holdOf(holdId);
      if (hold.isClosed || amount === 0 || usedEntryIds.has(entryId)) return snapshot(hold);
      const remaining = remainingOf(hold);
      if (amount !== undefined && amount > remaining) {
        throw new HoldExceededError(holdId, amount, remaining);
      }
      usedEntryIds.add(entryId);
      const released = amount ?? remaining;
      const account = accountOf(hold.ownerId);
      hold.released += released;
      hold.isClosed = amount === undefined;
      account.reserved -= released;
      // A closing release is recorded even when nothing remained: it marks when the hold closed.
      record(
        account,
        { id: entryId, ownerId: hold.ownerId, kind: 'release', amount: released, holdId },
        meta,
      );
      return snapshot(hold);
    },

    async getHold(holdId) {
      const hold = holds.get(holdId);
      return hold ? snapshot(hold) : null;
    },

    async balance(ownerId) {
      return balanceOf(accounts.get(ownerId));
    },

    async entries(ownerId, query): Promise<Page<LedgerEntry>> {
      if (!Number.isInteger(query.limit) || query.limit < 1) {
        throw new ValidationError([{ path: ['limit'], message: 'must be a positive integer' }]);
      }
      const all = accounts.get(ownerId)?.entries ?? [];
      const end = query.cursor == null ? all.length : parseCursor(query.cursor);
      const start = Math.max(0, end - query.limit);
      const items = all
        .slice(start, end)
        .reverse()
        .map((entry) => ({ ...entry }));
      return { items, nextCursor: start > 0 ? String(start) : null };
    },
  };
}

function requireAmount(amount: number, kind: 'positive' | 'non-negative'): void {
  const min = kind === 'positive' ? 1 : 0;
  if (!Number.isSafeInteger(amount) || amount < min) {
    throw new ValidationError([{ path: ['amount'], message: `must be a ${kind} integer` }]);
  }
}

function parseCursor(cursor: string): number {
  const index = Number(cursor);
  if (!/^\d+$/.test(cursor) || !Number.isSafeInteger(index)) {
    throw new ValidationError([{ path: ['cursor'], message: 'is not a cursor of this ledger' }]);
  }
  return index;
}

function remainingOf(hold: HoldState): number {
  return hold.amount - hold.captured - hold.released;
}

function snapshot(hold: HoldState): Hold {
  return { ...hold, remaining: remainingOf(hold) };
}

function balanceOf(account: Account | undefined): Balance {
  if (!account) return { balance: 0, reserved: 0, available: 0 };
  return {
    balance: account.balance,
    reserved: account.reserved,
    available: account.balance - account.reserved,
  };
}
