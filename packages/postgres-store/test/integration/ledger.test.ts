// The PostgreSQL ledger under real concurrency: several pools (standing for several worker
// processes, each with several connections) race on one owner and one hold. The conformance kit
// covers the semantics; these tests cover what only a shared database can get wrong.

import { type CreditLedger, isHoldExceededError, isInsufficientCreditsError } from '@smsbatch/core';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresLedger, isPostgresStoreError } from '../../src/index.js';
import { createTestPool, describePg, useTestSchema } from '../helpers.js';

describePg('postgres ledger under concurrency', () => {
  const db = useTestSchema();
  const pools: pg.Pool[] = [];
  let ledgers: CreditLedger[];
  let seq = 0;
  const uid = (prefix: string) => `${prefix}-${++seq}`;

  beforeAll(() => {
    for (let i = 0; i < 3; i++) pools.push(createTestPool(5));
    ledgers = pools.map((pool) => createPostgresLedger(pool, { schema: db.schema }));
  });
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
  });

  /** `count` calls spread over the processes. */
  const race = <T>(count: number, call: (ledger: CreditLedger, i: number) => Promise<T>) =>
    Promise.allSettled(
      Array.from({ length: count }, (_, i) => call(ledgers[i % ledgers.length]!, i)),
    );

  it('never overspends when processes reserve in parallel', async () => {
    const owner = uid('owner');
    await ledgers[0]!.credit(owner, 100, uid('credit'));
    const results = await race(45, (ledger) => ledger.reserve(owner, 7, uid('hold')));
    const held = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(held).toHaveLength(14);
    for (const r of refused) expect(isInsufficientCreditsError(r.reason)).toBe(true);
    expect(await ledgers[1]!.balance(owner)).toEqual({ balance: 100, reserved: 98, available: 2 });
  });

  it('never captures more than the hold when processes capture in parallel', async () => {
    const owner = uid('owner');
    const holdId = uid('hold');
    await ledgers[0]!.credit(owner, 500, uid('credit'));
    await ledgers[0]!.reserve(owner, 100, holdId);
    const results = await race(40, (ledger) => ledger.capture(holdId, 9, uid('capture')));
    const captured = results.filter((r) => r.status === 'fulfilled');
    expect(captured).toHaveLength(11);
    for (const r of results) {
      if (r.status === 'rejected') expect(isHoldExceededError(r.reason)).toBe(true);
    }
    expect(await ledgers[2]!.getHold(holdId)).toMatchObject({ captured: 99, remaining: 1 });
    expect(await ledgers[2]!.balance(owner)).toEqual({ balance: 401, reserved: 1, available: 400 });
  });

  it('applies an entry id once, whichever process retries it and however often', async () => {
    const owner = uid('owner');
    const holdId = uid('hold');
    const creditId = uid('credit');
    await race(12, (ledger) => ledger.credit(owner, 60, creditId));
    await ledgers[0]!.reserve(owner, 60, holdId);
    const captureId = uid('capture');
    const releaseId = uid('release');
    await race(12, (ledger, i) =>
      i % 2 === 0
        ? ledger.capture(holdId, 10, captureId)
        : ledger.release(holdId, { amount: 5, entryId: releaseId }),
    );
    expect(await ledgers[1]!.getHold(holdId)).toMatchObject({ captured: 10, released: 5 });
    expect(await ledgers[1]!.balance(owner)).toEqual({ balance: 50, reserved: 45, available: 5 });
    const entries = await ledgers[1]!.entries(owner, { limit: 10 });
    // The capture and the release raced: either may have committed first.
    expect(entries.items.map((e) => e.kind).sort()).toEqual([
      'capture',
      'credit',
      'hold',
      'release',
    ]);
    expect(entries.items.slice(2).map((e) => e.kind)).toEqual(['hold', 'credit']);
  });

  it('treats an entry id equal to a hold id as a new entry', async () => {
    const owner = uid('owner');
    const holdId = uid('hold');
    await ledgers[0]!.credit(owner, 20, uid('credit'));
    await ledgers[0]!.reserve(owner, 20, holdId);
    // Holds are unique in their own table; credits, captures and releases share one namespace.
    expect(await ledgers[0]!.capture(holdId, 5, holdId)).toMatchObject({ captured: 5 });
  });

  it('enforces the invariants in the schema too, whatever writes to it', async () => {
    const owner = uid('owner');
    await ledgers[0]!.credit(owner, 10, uid('credit'));
    const overReserve = await db.pool
      .query(`UPDATE "${db.schema}".ledger_accounts SET reserved = 11 WHERE owner_id = $1`, [owner])
      .catch((e: { code?: string }) => e);
    expect(overReserve).toMatchObject({ code: '23514' });
    const negative = await db.pool
      .query(`UPDATE "${db.schema}".ledger_accounts SET balance = -1 WHERE owner_id = $1`, [owner])
      .catch((e: { code?: string }) => e);
    expect(negative).toMatchObject({ code: '23514' });
  });

  it('surfaces a database error with its SQLSTATE', async () => {
    const ledger = createPostgresLedger(db.pool, { schema: 'no_such_schema' });
    const error = await ledger.balance('o').catch((e: unknown) => e);
    expect(isPostgresStoreError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'query_failed', sqlState: '42P01' });
  });
});
