// The CampaignStore port on PostgreSQL. Each method is one statement (a few for the rare calls
// that must see a lock first), so a batch of 500 messages costs a claim, a transition write and a
// batch update whatever its size; the SQL itself lives in store-statements.ts.

import {
  type AppliedTransition,
  type CampaignStore,
  ConflictError,
  type MessageTransition,
  type Page,
  ValidationError,
} from '@smsbatch/core';
import type { Pool } from 'pg';
import { createDb, type RetryOptions, type Row } from './db.js';
import { isPostgresStoreError } from './errors.js';
import {
  toApplied,
  toBatch,
  toCampaign,
  toClaimed,
  toDeliveryEvent,
  toMessage,
  toRecipient,
} from './rows.js';
import { storeStatements } from './store-statements.js';

export interface PostgresStoreOptions {
  /** The schema `migrate` prepared. */
  schema: string;
  retry?: RetryOptions;
}

// Rows per recipients insert: large enough to amortise the round trip, small enough to keep the
// parameter arrays (and the statement's memory) modest.
const RECIPIENT_CHUNK = 10_000;

/** Rethrows a unique or foreign-key violation as the port's ConflictError. */
/** Rolls a chunk's transaction back when its compare-and-set failed. */
class StaleChunk extends Error {}

function conflictOr(error: unknown, message: (constraint: string | null) => string): never {
  if (isPostgresStoreError(error) && (error.sqlState === '23505' || error.sqlState === '23503')) {
    throw new ConflictError(message(error.constraint));
  }
  throw error;
}

function parseCursor(cursor: string | null | undefined): number | null {
  if (cursor === null || cursor === undefined) return null;
  if (!/^\d+$/.test(cursor)) {
    throw new ValidationError([{ path: ['cursor'], message: 'is not a cursor of this store' }]);
  }
  return Number(cursor);
}

/** `rows` holds up to `limit + 1` rows; the extra one only says that a next page exists. */
function pageOf<T>(rows: Row[], limit: number, map: (row: Row) => T, key: string): Page<T> {
  const kept = rows.slice(0, limit);
  const last = kept.at(-1);
  return {
    items: kept.map(map),
    nextCursor: rows.length > limit && last !== undefined ? String(last[key]) : null,
  };
}

/** Splits transitions so that no id appears twice in one statement, keeping their order. */
function rounds(transitions: readonly MessageTransition[]): MessageTransition[][] {
  const out: MessageTransition[][] = [];
  const seen = new Map<string, number>();
  for (const transition of transitions) {
    const round = seen.get(transition.id) ?? 0;
    seen.set(transition.id, round + 1);
    if (round === out.length) out.push([]);
    out[round]!.push(transition);
  }
  return out;
}

export function createPostgresStore(pool: Pool, options: PostgresStoreOptions): CampaignStore {
  const sql = storeStatements(options.schema);
  const db = createDb(pool, options.retry);

  return {
    async createCampaign(campaign) {
      try {
        const [row] = await db.run(sql.insertCampaign(campaign));
        return toCampaign(row!);
      } catch (error) {
        conflictOr(error, () => `campaign ${campaign.id} exists`);
      }
    },

    async getCampaign(id) {
      const [row] = await db.run(sql.selectCampaign(id));
      return row ? toCampaign(row) : null;
    },

    async listCampaigns({ ownerId, statuses, limit, cursor }) {
      const rows = await db.run(
        sql.listCampaigns({ ownerId, statuses, before: parseCursor(cursor), limit: limit + 1 }),
      );
      return pageOf(rows, limit, toCampaign, 'seq');
    },

    async updateCampaign(id, patch, guard) {
      const [row] = await db.run(sql.updateCampaign(id, patch, guard?.ifStatus));
      return row ? toCampaign(row) : null;
    },

    async insertRecipients(campaignId, rows) {
      try {
        for (let start = 0; start < rows.length; start += RECIPIENT_CHUNK) {
          await db.run(
            sql.insertRecipients(campaignId, rows.slice(start, start + RECIPIENT_CHUNK)),
          );
        }
      } catch (error) {
        conflictOr(error, () => `campaign ${campaignId} not found`);
      }
    },

    async readRecipients(campaignId, fromSeq, limit) {
      const rows = await db.run(sql.readRecipients(campaignId, fromSeq, limit));
      return rows.map(toRecipient);
    },

    async findTakenPhones(campaignId, phones) {
      if (phones.length === 0) return [];
      const rows = await db.run<{ phone: string }>(sql.findTakenPhones(campaignId, phones));
      return rows.map((row) => row.phone);
    },

    async appendPlanChunk(chunk) {
      if ((await db.run(sql.checkPlan(chunk))).length === 0) return false;
      try {
        return await db.transaction(async (tx) => {
          await tx.run(sql.insertPlanChunk(chunk));
          if ((await tx.run(sql.advancePlan(chunk))).length > 0) return true;
          throw new StaleChunk();
        });
      } catch (error) {
        if (error instanceof StaleChunk) return false;
        // A planner racing us inserted the same rows first: that is a stale chunk too.
        if (isPostgresStoreError(error) && error.sqlState === '23505') {
          if ((await db.run(sql.checkPlan(chunk))).length === 0) return false;
        }
        conflictOr(error, (constraint) =>
          constraint?.endsWith('phone_idx')
            ? `a message of the chunk has a phone already taken in campaign ${chunk.campaignId}`
            : `a message or batch of the chunk exists in campaign ${chunk.campaignId}`,
        );
      }
    },

    async releaseBatches(campaignId, window) {
      const rows = await db.transaction(async (tx) => {
        const locked = await tx.run(sql.lockReleases(campaignId));
        if (locked.length === 0) throw new ConflictError(`campaign ${campaignId} not found`);
        return tx.run(sql.releaseBatches(campaignId, window));
      });
      return rows.map(toBatch).sort((a, b) => a.batchNo - b.batchNo);
    },

    async getBatch(campaignId, batchNo) {
      const [row] = await db.run(sql.selectBatch(campaignId, batchNo));
      return row ? toBatch(row) : null;
    },

    async listBatches(campaignId, { statuses, limit, cursor }) {
      const rows = await db.run(
        sql.listBatches(campaignId, { statuses, after: parseCursor(cursor), limit: limit + 1 }),
      );
      return pageOf(rows, limit, toBatch, 'batch_no');
    },

    async updateBatch(campaignId, batchNo, patch, guard) {
      const [row] = await db.run(sql.updateBatch(campaignId, batchNo, patch, guard?.ifStatus));
      return row ? toBatch(row) : null;
    },

    async insertMessages(messages) {
      if (messages.length === 0) return;
      if (messages.some((message) => message.campaignId !== null)) {
        throw new ConflictError('campaign messages are inserted by appendPlanChunk');
      }
      try {
        await db.run(sql.insertMessages(messages));
      } catch (error) {
        conflictOr(error, () => 'a message with one of these ids exists');
      }
    },

    async getMessage(id) {
      const [row] = await db.run(sql.selectMessage(id));
      return row ? toMessage(row) : null;
    },

    async findMessages({ ids = [], providerMessageIds = [] }) {
      if (ids.length === 0 && providerMessageIds.length === 0) return [];
      const rows = await db.run(sql.findMessages(ids, providerMessageIds));
      return rows.map(toMessage);
    },

    async listMessages(campaignId, { status, batchNo, limit, cursor }) {
      const rows = await db.run(
        sql.listMessages(campaignId, {
          status,
          batchNo,
          after: parseCursor(cursor),
          limit: limit + 1,
        }),
      );
      return pageOf(rows, limit, toMessage, 'seq');
    },

    async scanMessages(scan) {
      const statement = sql.scanMessages(scan);
      if (statement === null) return [];
      const rows = await db.run(statement);
      return rows.map(toMessage);
    },

    async claimMessages(target, options) {
      if ('messageIds' in target) {
        if (target.messageIds.length === 0) return [];
        const rows = await db.run(sql.claimIds(target.messageIds, options));
        return rows.map(toClaimed);
      }
      const rows = await db.run(sql.claimBatch(target.campaignId, target.batchNo, options));
      return rows.map(toClaimed);
    },

    async applyTransitions(transitions, { now }) {
      const split = rounds(transitions);
      if (split.length === 0) return [];
      if (split.length === 1) {
        const rows = await db.run(sql.applyTransitions(split[0]!, now));
        return rows.map(toApplied);
      }
      // An id given twice: each later occurrence runs in a later statement of one transaction,
      // so it sees the earlier one applied; results go back in the caller's order.
      const applied = await db.transaction(async (tx) => {
        const out: AppliedTransition[][] = [];
        for (const round of split) {
          out.push((await tx.run(sql.applyTransitions(round, now))).map(toApplied));
        }
        return out;
      });
      const cursors = applied.map(() => 0);
      const result: AppliedTransition[] = [];
      const occurrence = new Map<string, number>();
      for (const transition of transitions) {
        const round = occurrence.get(transition.id) ?? 0;
        occurrence.set(transition.id, round + 1);
        const next = applied[round]![cursors[round]!];
        if (next?.id === transition.id) {
          result.push(next);
          cursors[round]! += 1;
        }
      }
      return result;
    },

    async cancelQueued(campaignId, { now }) {
      const [row] = await db.run(sql.cancelQueued(campaignId, now));
      return { count: Number(row!.count), cost: Number(row!.cost) };
    },

    async requeueFailed(campaignId, { now }) {
      const [row] = await db.run(sql.requeueFailed(campaignId, now));
      return { count: Number(row!.count), cost: Number(row!.cost) };
    },

    async markLookedUp(ids, { now }) {
      if (ids.length === 0) return;
      await db.run(sql.markLookedUp(ids, now));
    },

    async recordDeliveryEvents(events) {
      if (events.length === 0) return [];
      const rows = await db.run<{ key: string }>(sql.insertDeliveryEvents(events));
      const fresh = new Set(rows.map((row) => row.key));
      // A key given twice in one call was inserted once: report its first occurrence.
      return events.filter((event) => fresh.delete(event.key)).map((event) => ({ ...event }));
    },

    async listPendingDeliveryEvents({
      references = [],
      providerMessageIds = [],
      receivedBefore,
      limit,
    }) {
      if (
        references.length === 0 &&
        providerMessageIds.length === 0 &&
        receivedBefore === undefined
      ) {
        return [];
      }
      const rows = await db.run(
        sql.listPendingDeliveryEvents({ references, providerMessageIds, receivedBefore, limit }),
      );
      return rows.map(toDeliveryEvent);
    },

    async markDeliveryEventsProcessed(keys, { now }) {
      if (keys.length === 0) return;
      await db.run(sql.markDeliveryEventsProcessed(keys, now));
    },
  };
}
