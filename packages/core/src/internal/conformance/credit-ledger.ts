// The CreditLedger contract as a vitest suite: the in-memory ledger, PostgreSQL and an app's own
// adapter all run it. Every test uses fresh owner, hold and entry ids, so a shared database needs
// no cleanup between tests and tests may run against one long-lived adapter.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isHoldClosedError,
  isHoldExceededError,
  isHoldNotFoundError,
  isInsufficientCreditsError,
  isValidationError,
} from '../errors.js';
import type { CreditLedger, LedgerEntry } from '../ports/credit-ledger.js';

export interface CreditLedgerFixture {
  ledger: CreditLedger;
  cleanup?: () => Promise<void> | void;
}

export function describeCreditLedger(
  name: string,
  factory: () => Promise<CreditLedgerFixture> | CreditLedgerFixture,
): void {
  describe(`CreditLedger conformance: ${name}`, () => {
    let fixture: CreditLedgerFixture;
    let ledger: CreditLedger;
    const run = Math.random().toString(36).slice(2, 10);
    let counter = 0;
    const uid = (prefix: string) => `${prefix}-${run}-${++counter}`;

    beforeEach(async () => {
      fixture = await factory();
      ledger = fixture.ledger;
    });

    afterEach(async () => {
      await fixture.cleanup?.();
    });

    const fundedOwner = async (credits: number) => {
      const ownerId = uid('owner');
      await ledger.credit(ownerId, credits, uid('credit'));
      return ownerId;
    };

    /** Settles every promise, then splits the outcomes; a rejection must match `isExpected`. */
    const settleAll = async <T>(
      promises: Promise<T>[],
      isExpected: (error: unknown) => boolean,
    ): Promise<{ values: T[]; errors: unknown[] }> => {
      const results = await Promise.allSettled(promises);
      const values: T[] = [];
      const errors: unknown[] = [];
      for (const result of results) {
        if (result.status === 'fulfilled') values.push(result.value);
        else errors.push(result.reason);
      }
      for (const error of errors) expect(isExpected(error), String(error)).toBe(true);
      return { values, errors };
    };

    const allEntries = async (ownerId: string): Promise<LedgerEntry[]> => {
      const page = await ledger.entries(ownerId, { limit: 1_000 });
      return page.items;
    };

    describe('balance and credit', () => {
      it('reports zeros for an owner it has never seen', async () => {
        expect(await ledger.balance(uid('owner'))).toEqual({
          balance: 0,
          reserved: 0,
          available: 0,
        });
      });

      it('adds credits and returns the new balance', async () => {
        const ownerId = uid('owner');
        expect(await ledger.credit(ownerId, 70, uid('credit'))).toEqual({
          balance: 70,
          reserved: 0,
          available: 70,
        });
        await ledger.credit(ownerId, 30, uid('credit'));
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 0,
          available: 100,
        });
      });

      it('applies a credit once per entry id, even with a different amount', async () => {
        const ownerId = uid('owner');
        const entryId = uid('credit');
        await ledger.credit(ownerId, 50, entryId);
        expect(await ledger.credit(ownerId, 500, entryId)).toMatchObject({ balance: 50 });
        expect((await ledger.balance(ownerId)).balance).toBe(50);
      });

      it('applies concurrent credits with one entry id once', async () => {
        const ownerId = uid('owner');
        const entryId = uid('credit');
        await Promise.all(Array.from({ length: 20 }, () => ledger.credit(ownerId, 10, entryId)));
        expect((await ledger.balance(ownerId)).balance).toBe(10);
      });

      it('loses no update under concurrent credits', async () => {
        const ownerId = uid('owner');
        await Promise.all(
          Array.from({ length: 50 }, () => ledger.credit(ownerId, 3, uid('credit'))),
        );
        expect((await ledger.balance(ownerId)).balance).toBe(150);
      });
    });

    describe('reserve', () => {
      it('moves available credits to reserved', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        const hold = await ledger.reserve(ownerId, 40, holdId);
        expect(hold).toEqual({
          id: holdId,
          ownerId,
          amount: 40,
          captured: 0,
          released: 0,
          remaining: 40,
          isClosed: false,
        });
        expect(await ledger.getHold(holdId)).toEqual(hold);
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 40,
          available: 60,
        });
      });

      it('refuses more than is available and changes nothing', async () => {
        const ownerId = await fundedOwner(100);
        await ledger.reserve(ownerId, 70, uid('hold'));
        const before = await allEntries(ownerId);
        const holdId = uid('hold');
        const error = await ledger.reserve(ownerId, 31, holdId).catch((e: unknown) => e);
        expect(isInsufficientCreditsError(error)).toBe(true);
        expect(error).toMatchObject({ required: 31, available: 30 });
        expect(await ledger.getHold(holdId)).toBeNull();
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 70,
          available: 30,
        });
        expect(await allEntries(ownerId)).toEqual(before);
      });

      it('refuses an owner without credits', async () => {
        const error = await ledger.reserve(uid('owner'), 1, uid('hold')).catch((e: unknown) => e);
        expect(isInsufficientCreditsError(error)).toBe(true);
      });

      it('returns the existing hold for a repeated hold id, whatever the other arguments', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        const first = await ledger.reserve(ownerId, 40, holdId);
        expect(await ledger.reserve(ownerId, 90, holdId)).toEqual(first);
        expect(await ledger.reserve(await fundedOwner(100), 10, holdId)).toEqual(first);
        expect(await ledger.balance(ownerId)).toMatchObject({ reserved: 40 });
      });

      it('holds once for concurrent reserves with one hold id', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        const holds = await Promise.all(
          Array.from({ length: 20 }, () => ledger.reserve(ownerId, 30, holdId)),
        );
        for (const hold of holds) expect(hold).toMatchObject({ id: holdId, amount: 30 });
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 30,
          available: 70,
        });
      });

      it('never over-reserves under concurrent reserves', async () => {
        const ownerId = await fundedOwner(100);
        const { values, errors } = await settleAll(
          Array.from({ length: 50 }, () => ledger.reserve(ownerId, 10, uid('hold'))),
          isInsufficientCreditsError,
        );
        expect(values).toHaveLength(10);
        expect(errors).toHaveLength(40);
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 100,
          available: 0,
        });
      });
    });

    describe('capture', () => {
      it('debits the balance and the hold, partially', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        const hold = await ledger.capture(holdId, 20, uid('capture'));
        expect(hold).toMatchObject({ amount: 50, captured: 20, released: 0, remaining: 30 });
        expect(hold.isClosed).toBe(false);
        expect(await ledger.balance(ownerId)).toEqual({ balance: 80, reserved: 30, available: 50 });
      });

      it('refuses beyond what remains and changes nothing', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        await ledger.capture(holdId, 40, uid('capture'));
        const error = await ledger.capture(holdId, 11, uid('capture')).catch((e: unknown) => e);
        expect(isHoldExceededError(error)).toBe(true);
        expect(await ledger.getHold(holdId)).toMatchObject({ captured: 40, remaining: 10 });
        expect(await ledger.balance(ownerId)).toEqual({ balance: 60, reserved: 10, available: 50 });
      });

      it('applies a capture once per entry id, even with a different amount', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        const entryId = uid('capture');
        await ledger.capture(holdId, 10, entryId);
        expect(await ledger.capture(holdId, 25, entryId)).toMatchObject({ captured: 10 });
        expect(await ledger.balance(ownerId)).toEqual({ balance: 90, reserved: 40, available: 50 });
      });

      it('applies concurrent captures with one entry id once', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        const entryId = uid('capture');
        await Promise.all(Array.from({ length: 20 }, () => ledger.capture(holdId, 5, entryId)));
        expect(await ledger.getHold(holdId)).toMatchObject({ captured: 5, remaining: 45 });
        expect((await ledger.balance(ownerId)).balance).toBe(95);
      });

      it('never captures more than the hold under concurrent captures', async () => {
        const ownerId = await fundedOwner(200);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 100, holdId);
        const { values, errors } = await settleAll(
          Array.from({ length: 30 }, () => ledger.capture(holdId, 7, uid('capture'))),
          isHoldExceededError,
        );
        expect(values).toHaveLength(14);
        expect(errors).toHaveLength(16);
        expect(await ledger.getHold(holdId)).toMatchObject({ captured: 98, remaining: 2 });
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 102,
          reserved: 2,
          available: 100,
        });
      });

      it('refuses a closed hold', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        await ledger.release(holdId, { entryId: uid('release') });
        const error = await ledger.capture(holdId, 1, uid('capture')).catch((e: unknown) => e);
        expect(isHoldClosedError(error)).toBe(true);
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 0,
          available: 100,
        });
      });

      it('answers a repeated capture after the hold closed with the hold, not an error', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        const entryId = uid('capture');
        await ledger.capture(holdId, 20, entryId);
        await ledger.release(holdId, { entryId: uid('release') });
        expect(await ledger.capture(holdId, 20, entryId)).toMatchObject({
          captured: 20,
          released: 30,
          isClosed: true,
        });
      });

      it('treats a capture of 0 as a no-op', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        expect(await ledger.capture(holdId, 0, uid('capture'))).toMatchObject({ captured: 0 });
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 50,
          available: 50,
        });
      });
    });

    describe('release', () => {
      it('releases part of a hold and leaves it open', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        const hold = await ledger.release(holdId, { amount: 15, entryId: uid('release') });
        expect(hold).toMatchObject({ released: 15, remaining: 35, isClosed: false });
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 35,
          available: 65,
        });
        await ledger.capture(holdId, 35, uid('capture'));
        expect(await ledger.balance(ownerId)).toEqual({ balance: 65, reserved: 0, available: 65 });
      });

      it('releases everything remaining and closes the hold without an amount', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        await ledger.capture(holdId, 20, uid('capture'));
        const hold = await ledger.release(holdId, { entryId: uid('release') });
        expect(hold).toMatchObject({ captured: 20, released: 30, remaining: 0, isClosed: true });
        expect(await ledger.balance(ownerId)).toEqual({ balance: 80, reserved: 0, available: 80 });
      });

      it('treats a release of a closed hold as a no-op', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        const closed = await ledger.release(holdId, { entryId: uid('release') });
        expect(await ledger.release(holdId, { entryId: uid('release') })).toEqual(closed);
        expect(await ledger.release(holdId, { amount: 5, entryId: uid('release') })).toEqual(
          closed,
        );
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 0,
          available: 100,
        });
      });

      it('applies a partial release once per entry id, also concurrently', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        const entryId = uid('release');
        await ledger.release(holdId, { amount: 10, entryId });
        await Promise.all(
          Array.from({ length: 20 }, () => ledger.release(holdId, { amount: 10, entryId })),
        );
        expect(await ledger.release(holdId, { amount: 40, entryId })).toMatchObject({
          released: 10,
          remaining: 40,
          isClosed: false,
        });
        expect(await ledger.balance(ownerId)).toMatchObject({ reserved: 40 });
      });

      it('treats a release of 0 as a no-op that leaves the hold open', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        expect(await ledger.release(holdId, { amount: 0, entryId: uid('release') })).toMatchObject({
          released: 0,
          isClosed: false,
        });
      });

      it('accounts exactly across partial captures and a final release', async () => {
        const ownerId = await fundedOwner(1_000);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 600, holdId);
        await Promise.all([
          ...[50, 120, 7, 90].map((amount) => ledger.capture(holdId, amount, uid('capture'))),
          ledger.release(holdId, { amount: 33, entryId: uid('release') }),
        ]);
        const hold = await ledger.release(holdId, { entryId: uid('release') });
        expect(hold).toMatchObject({ captured: 267, released: 333, remaining: 0, isClosed: true });
        expect(hold.captured + hold.released).toBe(hold.amount);
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 733,
          reserved: 0,
          available: 733,
        });
      });

      it('ends at the same state whatever the interleaving of settle and captures', async () => {
        const ownerId = await fundedOwner(500);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 300, holdId);
        const settled = await Promise.allSettled([
          ...Array.from({ length: 20 }, () => ledger.capture(holdId, 10, uid('capture'))),
          ledger.release(holdId, { entryId: uid('release') }),
        ]);
        for (const result of settled) {
          if (result.status === 'rejected') expect(isHoldClosedError(result.reason)).toBe(true);
        }
        const hold = await ledger.getHold(holdId);
        const captures = settled.slice(0, 20).filter((r) => r.status === 'fulfilled').length;
        expect(hold).toMatchObject({ captured: captures * 10, isClosed: true, remaining: 0 });
        expect(hold!.captured + hold!.released).toBe(300);
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 500 - captures * 10,
          reserved: 0,
          available: 500 - captures * 10,
        });
      });
    });

    describe('invariants', () => {
      it('keeps balance >= 0 and reserved <= balance under a concurrent mix', async () => {
        const ownerId = await fundedOwner(100);
        const holdIds = Array.from({ length: 12 }, () => uid('hold'));
        const tolerated = (e: unknown) =>
          isInsufficientCreditsError(e) ||
          isHoldClosedError(e) ||
          isHoldExceededError(e) ||
          isHoldNotFoundError(e);
        await settleAll(
          holdIds.flatMap((holdId, i): Promise<unknown>[] => [
            ledger.reserve(ownerId, 15, holdId),
            ledger.capture(holdId, 5, uid('capture')),
            ledger.release(
              holdId,
              i % 2 === 0 ? { entryId: uid('release') } : { amount: 4, entryId: uid('release') },
            ),
            ledger.credit(ownerId, 2, uid('credit')),
          ]),
          tolerated,
        );
        const balance = await ledger.balance(ownerId);
        const holds = (await Promise.all(holdIds.map((id) => ledger.getHold(id)))).filter(
          (hold) => hold !== null,
        );
        const captured = holds.reduce((sum, hold) => sum + hold.captured, 0);
        const remaining = holds.reduce((sum, hold) => sum + hold.remaining, 0);
        expect(balance.balance).toBe(100 + 12 * 2 - captured);
        expect(balance.reserved).toBe(remaining);
        expect(balance.available).toBe(balance.balance - balance.reserved);
        expect(balance.reserved).toBeLessThanOrEqual(balance.balance);
        expect(balance.balance).toBeGreaterThanOrEqual(0);
        for (const hold of holds)
          expect(hold.captured + hold.released + hold.remaining).toBe(hold.amount);
      });
    });

    describe('errors', () => {
      it('reports an unknown hold', async () => {
        const holdId = uid('hold');
        expect(await ledger.getHold(holdId)).toBeNull();
        const capture = await ledger.capture(holdId, 1, uid('capture')).catch((e: unknown) => e);
        const release = await ledger
          .release(holdId, { entryId: uid('release') })
          .catch((e: unknown) => e);
        expect(isHoldNotFoundError(capture)).toBe(true);
        expect(isHoldNotFoundError(release)).toBe(true);
      });

      it('rejects amounts that are not positive integers, naming the field', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        await ledger.reserve(ownerId, 50, holdId);
        const attempts = [
          ledger.credit(ownerId, 0, uid('credit')),
          ledger.credit(ownerId, -5, uid('credit')),
          ledger.credit(ownerId, 1.5, uid('credit')),
          ledger.reserve(ownerId, 0, uid('hold')),
          ledger.reserve(ownerId, 2.5, uid('hold')),
          ledger.capture(holdId, -1, uid('capture')),
          ledger.capture(holdId, 0.5, uid('capture')),
          ledger.release(holdId, { amount: -1, entryId: uid('release') }),
        ];
        for (const attempt of attempts) {
          const error = await attempt.catch((e: unknown) => e);
          expect(isValidationError(error), String(error)).toBe(true);
          expect(error).toMatchObject({
            issues: expect.arrayContaining([expect.objectContaining({ path: ['amount'] })]),
          });
        }
        expect(await ledger.balance(ownerId)).toEqual({
          balance: 100,
          reserved: 50,
          available: 50,
        });
      });
    });

    describe('entries', () => {
      it('records each movement with its meta, newest first', async () => {
        const ownerId = uid('owner');
        const campaignId = uid('campaign');
        const creditId = uid('credit');
        const holdId = uid('hold');
        const captureId = uid('capture');
        const releaseId = uid('release');
        await ledger.credit(ownerId, 100, creditId, { reason: 'top-up' });
        await ledger.reserve(ownerId, 60, holdId, { reason: 'enqueue', campaignId });
        await ledger.capture(holdId, 25, captureId, { campaignId, batchNo: 3, messageId: 'm-1' });
        await ledger.release(holdId, { entryId: releaseId }, { reason: 'settle', campaignId });

        const entries = await allEntries(ownerId);
        expect(entries.map((entry) => entry.kind)).toEqual([
          'release',
          'capture',
          'hold',
          'credit',
        ]);
        expect(entries[3]).toMatchObject({
          id: creditId,
          ownerId,
          kind: 'credit',
          amount: 100,
          holdId: null,
          reason: 'top-up',
        });
        expect(entries[2]).toMatchObject({ kind: 'hold', amount: 60, holdId, campaignId });
        expect(entries[1]).toMatchObject({
          id: captureId,
          amount: 25,
          holdId,
          campaignId,
          batchNo: 3,
          messageId: 'm-1',
        });
        expect(entries[0]).toMatchObject({ id: releaseId, amount: 35, holdId, reason: 'settle' });
        for (const entry of entries) expect(typeof entry.createdAt).toBe('number');
      });

      it('records nothing for repeated ids and refused calls', async () => {
        const ownerId = await fundedOwner(100);
        const holdId = uid('hold');
        const captureId = uid('capture');
        await ledger.reserve(ownerId, 50, holdId);
        await ledger.capture(holdId, 10, captureId);
        const before = await allEntries(ownerId);
        await ledger.reserve(ownerId, 50, holdId);
        await ledger.capture(holdId, 10, captureId);
        await ledger.capture(holdId, 41, uid('capture')).catch(() => {});
        await ledger.reserve(ownerId, 51, uid('hold')).catch(() => {});
        expect(await allEntries(ownerId)).toEqual(before);
      });

      it('pages through the history without gaps or repeats', async () => {
        const ownerId = uid('owner');
        for (let i = 1; i <= 7; i++) await ledger.credit(ownerId, i, uid('credit'));
        const seen: number[] = [];
        let cursor: string | null = null;
        for (let pages = 0; pages < 10; pages++) {
          const page = await ledger.entries(ownerId, { limit: 3, cursor });
          expect(page.items.length).toBeLessThanOrEqual(3);
          seen.push(...page.items.map((entry) => entry.amount));
          cursor = page.nextCursor;
          if (cursor === null) break;
        }
        expect(cursor).toBeNull();
        expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
      });

      it('keeps owners apart', async () => {
        const first = await fundedOwner(10);
        const second = await fundedOwner(20);
        const entries = await allEntries(first);
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({ ownerId: first, amount: 10 });
        expect((await allEntries(second))[0]).toMatchObject({ ownerId: second, amount: 20 });
      });
    });
  });
}
