import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeCreditLedger } from '../conformance/credit-ledger.js';
import { isHoldExceededError, isValidationError } from '../errors.js';
import { createMemoryLedger } from './credit-ledger.js';

describeCreditLedger('memory', () => ({ ledger: createMemoryLedger() }));

describe('memory ledger', () => {
  it('stamps entries with its clock', async () => {
    const ledger = createMemoryLedger({ clock: { now: () => 1_700_000_000_000 } });
    await ledger.credit('o', 5, 'c1');
    const page = await ledger.entries('o', { limit: 10 });
    expect(page.items[0]?.createdAt).toBe(1_700_000_000_000);
  });

  it('refuses a partial release beyond what remains', async () => {
    const ledger = createMemoryLedger();
    await ledger.credit('o', 10, 'c1');
    await ledger.reserve('o', 10, 'h1');
    await ledger.capture('h1', 4, 'cap1');
    const error = await ledger.release('h1', { amount: 7, entryId: 'r1' }).catch((e: unknown) => e);
    expect(isHoldExceededError(error)).toBe(true);
    expect(await ledger.getHold('h1')).toMatchObject({ released: 0, remaining: 6 });
  });

  it('rejects a bad page query, naming the field', async () => {
    const ledger = createMemoryLedger();
    for (const [query, field] of [
      [{ limit: 0 }, 'limit'],
      [{ limit: 10, cursor: 'abc' }, 'cursor'],
    ] as const) {
      const error = await ledger.entries('o', query).catch((e: unknown) => e);
      expect(isValidationError(error)).toBe(true);
      expect(error).toMatchObject({ issues: [{ path: [field] }] });
    }
  });

  it('keeps the books against a model under any sequence of operations', async () => {
    type Op =
      | { kind: 'credit'; amount: number }
      | { kind: 'reserve'; hold: number; amount: number }
      | { kind: 'capture'; hold: number; amount: number }
      | { kind: 'release'; hold: number; amount: number | undefined };
    const hold = fc.integer({ min: 0, max: 4 });
    const amount = fc.integer({ min: 0, max: 40 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('credit' as const), amount: amount.map((a) => a + 1) }),
      fc.record({ kind: fc.constant('reserve' as const), hold, amount: amount.map((a) => a + 1) }),
      fc.record({ kind: fc.constant('capture' as const), hold, amount }),
      fc.record({
        kind: fc.constant('release' as const),
        hold,
        amount: fc.option(amount, { nil: undefined }),
      }),
    );

    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const ledger = createMemoryLedger();
        // Issued without awaiting in between: the ledger must serialise them itself.
        await Promise.allSettled(
          ops.map((o, i) => {
            const id = `e${i}`;
            switch (o.kind) {
              case 'credit':
                return ledger.credit('o', o.amount, id);
              case 'reserve':
                return ledger.reserve('o', o.amount, `h${o.hold}`);
              case 'capture':
                return ledger.capture(`h${o.hold}`, o.amount, id);
              default:
                return ledger.release(`h${o.hold}`, { amount: o.amount, entryId: id });
            }
          }),
        );
        const credited = ops.reduce((sum, o) => (o.kind === 'credit' ? sum + o.amount : sum), 0);
        const holds = await Promise.all([0, 1, 2, 3, 4].map((h) => ledger.getHold(`h${h}`)));
        let captured = 0;
        let remaining = 0;
        for (const h of holds) {
          if (!h) continue;
          expect(h.captured + h.released + h.remaining).toBe(h.amount);
          expect(Math.min(h.captured, h.released, h.remaining)).toBeGreaterThanOrEqual(0);
          if (h.isClosed) expect(h.remaining).toBe(0);
          captured += h.captured;
          remaining += h.remaining;
        }
        const balance = await ledger.balance('o');
        expect(balance).toEqual({
          balance: credited - captured,
          reserved: remaining,
          available: credited - captured - remaining,
        });
        expect(balance.available).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });
});
