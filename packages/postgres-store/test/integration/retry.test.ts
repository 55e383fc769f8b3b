// Transient failures: backends killed while idle in the pool or in the middle of a statement or a
// transaction, and a database that is not there at all. Killed calls are retried on a fresh
// connection; an unreachable database gives up after the bounded retries.

import { randomBytes } from 'node:crypto';
import type { CampaignStore } from '@smsbatch/core';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStore, isPostgresStoreError } from '../../src/index.js';
import { newCampaign } from '../fixtures.js';
import { DATABASE_URL, describePg, useTestSchema } from '../helpers.js';

describePg('transient failures', () => {
  const db = useTestSchema();
  const applicationName = `pgstore-retry-${randomBytes(4).toString('hex')}`;
  let pool: pg.Pool;
  let store: CampaignStore;

  beforeAll(() => {
    pool = new pg.Pool({
      connectionString: DATABASE_URL,
      max: 4,
      application_name: applicationName,
    });
    pool.on('error', () => {});
    store = createPostgresStore(pool, { schema: db.schema, retry: { baseDelayMs: 5 } });
  });
  afterAll(async () => {
    await pool.end();
  });

  const terminate = (condition: string) =>
    db.pool.query<{ terminated: boolean }>(
      `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
       WHERE application_name = $1 AND ${condition}`,
      [applicationName],
    );

  /** Waits until one of the store's backends waits on a lock, and returns how many do. */
  const waitForLockWaiter = async () => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await db.pool.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [applicationName],
      );
      if (rows.length > 0) return rows.length;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error('the store never blocked on the lock');
  };

  it('recovers when every pooled connection was terminated while idle', async () => {
    const { id } = await store.createCampaign(newCampaign(`c${randomBytes(4).toString('hex')}`));
    await Promise.all(Array.from({ length: 4 }, () => store.getCampaign(id)));
    const { rows } = await terminate('true');
    expect(rows.length).toBeGreaterThan(0);
    const results = await Promise.all(Array.from({ length: 4 }, () => store.getCampaign(id)));
    expect(results.every((c) => c?.id === id)).toBe(true);
  });

  it('retries a statement whose backend was terminated in the middle of it', async () => {
    const { id } = await store.createCampaign(newCampaign(`c${randomBytes(4).toString('hex')}`));
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM "${db.schema}".campaigns WHERE id = $1 FOR UPDATE`, [id]);
      const update = store.updateCampaign(
        id,
        { status: 'paused', updatedAt: 5 },
        { ifStatus: ['sending'] },
      );
      await waitForLockWaiter();
      await terminate(`wait_event_type = 'Lock'`);
      // The retry blocks on the same lock again, on a new connection.
      await waitForLockWaiter();
      await locker.query('COMMIT');
      expect(await update).toMatchObject({ status: 'paused', updatedAt: 5 });
    } finally {
      locker.release();
    }
  });

  it('re-runs a whole transaction whose backend was terminated inside it', async () => {
    const campaign = await store.createCampaign(newCampaign(`c${randomBytes(4).toString('hex')}`));
    await store.appendPlanChunk({
      campaignId: campaign.id,
      expected: campaign.plan,
      ifStatus: ['sending'],
      next: { ...campaign.plan, chunkNo: 1, done: true },
      messages: [],
      batches: [0, 1, 2].map((batchNo) => ({ batchNo, size: 1, segments: 1, cost: 1 })),
    });
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      // The lock releases of one campaign serialise on.
      await locker.query(
        `SELECT pg_advisory_xact_lock(hashtextextended('smsbatch-release:' || $1, 0))`,
        [campaign.id],
      );
      const release = store.releaseBatches(campaign.id, 2);
      await waitForLockWaiter();
      await terminate(`wait_event_type = 'Lock'`);
      await waitForLockWaiter();
      await locker.query('COMMIT');
      expect((await release).map((b) => [b.batchNo, b.releases])).toEqual([
        [0, 1],
        [1, 1],
      ]);
    } finally {
      locker.release();
    }
  });

  it('reports a kill it may not retry as unavailable, with its SQLSTATE', async () => {
    const noRetry = createPostgresStore(pool, { schema: db.schema, retry: { maxRetries: 0 } });
    const { id } = await store.createCampaign(newCampaign(`c${randomBytes(4).toString('hex')}`));
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM "${db.schema}".campaigns WHERE id = $1 FOR UPDATE`, [id]);
      const update = noRetry.updateCampaign(id, { status: 'paused' }).catch((e: unknown) => e);
      await waitForLockWaiter();
      await terminate(`wait_event_type = 'Lock'`);
      const error = await update;
      expect(isPostgresStoreError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'unavailable', sqlState: '57P01' });
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
  });

  it('gives up on an unreachable database after the bounded retries', async () => {
    const nowhere = new pg.Pool({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      max: 1,
    });
    nowhere.on('error', () => {});
    try {
      const unreachable = createPostgresStore(nowhere, {
        schema: db.schema,
        retry: { maxRetries: 2, baseDelayMs: 1 },
      });
      const error = await unreachable.getCampaign('c').catch((e: unknown) => e);
      expect(isPostgresStoreError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'unavailable', sqlState: null });
      expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await nowhere.end();
    }
  });
});
