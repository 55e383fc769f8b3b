// The CreditLedger port: per-owner credits with holds, modelled on pending/post/void transfers.
// Every call is idempotent by its id; `balance >= 0` and `reserved <= balance` always hold.

import type { Page } from '../domain/types.js';

export interface Balance {
  /** Credits the owner has (reserved ones included). */
  balance: number;
  /** Credits held for sends in flight. */
  reserved: number;
  /** `balance - reserved`: what a new hold may take. */
  available: number;
}

export interface Hold {
  id: string;
  ownerId: string;
  amount: number;
  captured: number;
  released: number;
  /** `amount - captured - released`. */
  remaining: number;
  /** A closed hold takes no capture; releasing it again is a no-op. */
  isClosed: boolean;
}

export interface EntryMeta {
  reason?: string;
  campaignId?: string;
  batchNo?: number;
  messageId?: string;
}

export type LedgerEntryKind = 'credit' | 'hold' | 'capture' | 'release';

export interface LedgerEntry extends EntryMeta {
  id: string;
  ownerId: string;
  kind: LedgerEntryKind;
  amount: number;
  holdId: string | null;
  createdAt: number;
}

export interface CreditLedger {
  /** Adds credits to an owner (creating the account). Idempotent by `entryId`. */
  credit(ownerId: string, amount: number, entryId: string, meta?: EntryMeta): Promise<Balance>;
  /**
   * Holds `amount` of the owner's available credits. Idempotent by `holdId`: a second call
   * returns the existing hold. Throws `InsufficientCreditsError` when available < amount.
   */
  reserve(ownerId: string, amount: number, holdId: string, meta?: EntryMeta): Promise<Hold>;
  /**
   * Debits `amount` from the hold (partial captures allowed). Idempotent by `entryId`, checked
   * before anything else but the amount: a retried capture of a since-closed hold returns the hold.
   * Throws `HoldClosedError` for a closed hold and `HoldExceededError` beyond `remaining`.
   * Capturing everything leaves the hold open; only a release without amount closes it.
   */
  capture(holdId: string, amount: number, entryId: string, meta?: EntryMeta): Promise<Hold>;
  /**
   * Returns held credits to available. With `amount`, a partial release that leaves the hold open
   * (`HoldExceededError` beyond `remaining`); without, everything remaining, and the hold closes.
   * Idempotent by `entryId` (credit, capture and release ids share one namespace). An amount of 0
   * changes nothing.
   */
  release(
    holdId: string,
    options: { amount?: number; entryId: string },
    meta?: EntryMeta,
  ): Promise<Hold>;
  getHold(holdId: string): Promise<Hold | null>;
  balance(ownerId: string): Promise<Balance>;
  /** Newest first; cursor-paged. */
  entries(
    ownerId: string,
    query: { limit: number; cursor?: string | null },
  ): Promise<Page<LedgerEntry>>;
}
