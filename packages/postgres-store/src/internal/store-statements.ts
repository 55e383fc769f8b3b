// The catalogue of every statement the CampaignStore sends, for one schema. Keeping them in one
// place lets test/integration/explain.test.ts plan each of them against a million messages, so an
// index that a query needs cannot go missing unnoticed. Bulk inputs travel as typed arrays
// expanded by `unnest`; counters move inside the same statement as the rows they count.

import {
  type BatchPatch,
  type BatchStatus,
  type CampaignPatch,
  type CampaignStatus,
  type ClaimOptions,
  MESSAGE_STATUSES,
  type MessageScan,
  type MessageStatus,
  type MessageTransition,
  type NewCampaign,
  type NewMessage,
  type PlanChunk,
  type PlanCursor,
  type RecipientRow,
  type StoredDeliveryEvent,
  ValidationError,
} from '@smsbatch/core';
import type { Statement } from './db.js';
import { quoteSchema } from './schema.js';

const MESSAGE_COLUMN_NAMES = [
  'id',
  'kind',
  'campaign_id',
  'owner_id',
  'seq',
  'batch_no',
  'contact_id',
  'phone',
  'text',
  'sender',
  'traffic_account_id',
  'encoding',
  'segments',
  'cost',
  'status',
  'error',
  'is_retryable',
  'is_accepted',
  'retry_count',
  'attempt_id',
  'lease_expires_at',
  'bulk_id',
  'provider_message_id',
  'lookup_count',
  'last_lookup_at',
  'created_at',
  'updated_at',
  'sent_at',
  'delivered_at',
  'failed_at',
];

const MESSAGE_COLUMNS = MESSAGE_COLUMN_NAMES.join(', ');

/** A campaign's plan cursor columns, in the order of `planValues`. */
const PLAN_COLUMN_NAMES = [
  'plan_next_seq',
  'plan_planned',
  'plan_chunk_no',
  'plan_planned_cost',
  'plan_done',
];
const planValues = (plan: PlanCursor) => [
  plan.nextSeq,
  plan.planned,
  plan.chunkNo,
  plan.plannedCost,
  plan.done,
];
/** `column = $n` for each plan column from `$first` on, joined by `separator`. */
const planColumns = (first: number, separator: string) =>
  PLAN_COLUMN_NAMES.map((column, i) => `${column} = $${first + i}`).join(separator);
const messageColumnsOf = (alias: string) =>
  MESSAGE_COLUMN_NAMES.map((column) => `${alias}.${column}`).join(', ');

/**
 * Statuses whose messages the `watch_*` generated columns (and their indexes) expose; it must
 * match the migration. The others (the hot path) are found through the batch counters.
 */
const WATCHED_STATUSES: readonly MessageStatus[] = ['failed', 'unknown', 'skipped', 'cancelled'];
const isWatched = (status: MessageStatus) => WATCHED_STATUSES.includes(status);

/** The counter column of a status. The name goes into SQL text, so it is checked, not trusted. */
function countColumn(status: MessageStatus): string {
  if (!MESSAGE_STATUSES.includes(status)) {
    throw new ValidationError([{ path: ['status'], message: 'is not a message status' }]);
  }
  return `count_${status}`;
}

const CLAIM_COLUMNS =
  'id, campaign_id, owner_id, batch_no, contact_id, phone, text, sender, traffic_account_id, segments, cost, retry_count';

const COUNT_COLUMNS = MESSAGE_STATUSES.map((status) => `count_${status}`).join(', ');

const CAMPAIGN_COLUMNS = `c.id, c.seq, c.owner_id, c.name, c.text, c.sender, c.traffic_account_id,
  c.status, c.total, c.estimated_cost, c.hold_id, c.hold_generation, c.batch_size, c.plan_next_seq,
  c.plan_planned, c.plan_chunk_no, c.plan_planned_cost, c.plan_done, c.schedule_version,
  c.scheduled_at, c.started_at, c.finished_at, c.created_at, c.updated_at,
  ${MESSAGE_STATUSES.map((status) => `k.count_${status}`).join(', ')}, k.accepted_cost`;

const BATCH_COLUMNS = `campaign_id, batch_no, size, segments, cost, status, releases, attempts,
  attempt_id, dispatched_attempt_id, bulk_id, last_error, ${COUNT_COLUMNS}, created_at, updated_at`;

const EVENT_COLUMNS = `key, provider_message_id, reference, state, provider_status, reason,
  occurred_at, source, raw, received_at, processed_at`;

// Column names of the patchable fields; `satisfies` makes a new patch field a compile error here.
const CAMPAIGN_PATCH_COLUMNS = {
  status: 'status',
  holdId: 'hold_id',
  holdGeneration: 'hold_generation',
  scheduleVersion: 'schedule_version',
  scheduledAt: 'scheduled_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  total: 'total',
  estimatedCost: 'estimated_cost',
  batchSize: 'batch_size',
  updatedAt: 'updated_at',
} satisfies Record<keyof CampaignPatch, string>;

const BATCH_PATCH_COLUMNS = {
  status: 'status',
  bulkId: 'bulk_id',
  lastError: 'last_error',
  releases: 'releases',
  attempts: 'attempts',
  dispatchedAttemptId: 'dispatched_attempt_id',
  updatedAt: 'updated_at',
} satisfies Record<keyof BatchPatch, string>;

/**
 * Aggregates of per-status deltas over moved messages (`from_status` → `to_status`, with a NULL
 * `from_status` for inserted ones).
 */
function deltaColumns(): string {
  return MESSAGE_STATUSES.map(
    (status) =>
      `count(*) FILTER (WHERE to_status = '${status}') - count(*) FILTER (WHERE from_status = '${status}') AS d_${status}`,
  ).join(',\n    ');
}

function addDeltas(alias: string): string {
  return MESSAGE_STATUSES.map(
    (status) => `count_${status} = ${alias}.count_${status} + d.d_${status}`,
  ).join(', ');
}

/** Placeholders `$from..$from+count-1`. */
function params(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `$${from + i}`);
}

export function storeStatements(schemaName: string) {
  const schema = quoteSchema(schemaName);
  const campaigns = `${schema}.campaigns`;
  const counters = `${schema}.campaign_counters`;
  const recipients = `${schema}.recipients`;
  const messages = `${schema}.messages`;
  const batches = `${schema}.batches`;
  const events = `${schema}.delivery_events`;
  const providerIds = `${schema}.message_provider_ids`;
  const bulkBatches = `${schema}.bulk_batches`;

  /**
   * `campaign_id, batch_no, updated_at` of the batches holding messages of a hot-path status,
   * from their counters: one campaign's (`campaign` is a placeholder) or every campaign's. Queued
   * messages also sit in the batch the planner has not closed yet, which has no row: the batch
   * numbers above the highest stored one (with a NULL `updated_at`).
   */
  const batchesWith = (status: MessageStatus, campaign: string | null) => {
    const closed = `SELECT campaign_id, batch_no, updated_at FROM ${batches}
      WHERE ${campaign === null ? '' : `campaign_id = ${campaign} AND `}${countColumn(status)} > 0`;
    if (status !== 'queued') return closed;
    return `${closed}
      UNION ALL
      SELECT DISTINCT m.campaign_id, m.batch_no, NULL::bigint FROM ${campaigns} c
      CROSS JOIN LATERAL (
        SELECT coalesce(max(b.batch_no), -1) AS last_closed FROM ${batches} b
        WHERE b.campaign_id = c.id
      ) x
      JOIN ${messages} m ON m.campaign_id = c.id AND m.batch_no > x.last_closed
      WHERE ${campaign === null ? 'NOT c.plan_done' : `c.id = ${campaign}`}`;
  };

  /** Campaign counters (and `acceptedCost`) moved by the rows of `source`. */
  const campaignCounters = (source: string) => `
campaign_delta AS (
  SELECT campaign_id, ${deltaColumns()},
    coalesce(sum(cost) FILTER (WHERE accepted_now), 0) AS d_accepted
  FROM ${source} WHERE campaign_id IS NOT NULL GROUP BY campaign_id
),
campaign_counts AS (
  UPDATE ${counters} c SET ${addDeltas('c')}, accepted_cost = c.accepted_cost + d.d_accepted
  FROM campaign_delta d WHERE c.campaign_id = d.campaign_id
)`;

  /** Batch counts moved by the rows of `source`; touched batches get `updated_at = now`. */
  const batchCounters = (
    source: string,
    now: string,
    statusExpression?: string,
    extraSet?: string,
  ) => `
batch_delta AS (
  SELECT campaign_id, batch_no, ${deltaColumns()}
  FROM ${source} WHERE campaign_id IS NOT NULL AND batch_no IS NOT NULL
  GROUP BY campaign_id, batch_no
),
batch_counts AS (
  UPDATE ${batches} b SET ${addDeltas('b')}, updated_at = ${now}
    ${statusExpression ? `, status = ${statusExpression}` : ''}
    ${extraSet ? `, ${extraSet}` : ''}
  FROM batch_delta d WHERE b.campaign_id = d.campaign_id AND b.batch_no = d.batch_no
)`;

  const selectCampaigns = `SELECT ${CAMPAIGN_COLUMNS} FROM ${campaigns} c
    JOIN ${counters} k ON k.campaign_id = c.id`;

  // The columns of a message insert, as `unnest` arrays starting at `$first`.
  const messageInsert = (first: number) => {
    const p = params(first, 18);
    return `INSERT INTO ${messages} (id, kind, campaign_id, owner_id, seq, batch_no, contact_id,
      phone, text, sender, traffic_account_id, encoding, segments, cost, status, error,
      is_retryable, created_at, updated_at)
    SELECT u.id, u.kind, u.campaign_id, u.owner_id, u.seq, u.batch_no, u.contact_id, u.phone,
      u.text, u.sender, u.traffic_account_id, u.encoding, u.segments, u.cost, u.status, u.error,
      u.is_retryable, u.created_at, u.created_at
    FROM unnest(${p[0]}::text[], ${p[1]}::text[], ${p[2]}::text[], ${p[3]}::text[], ${p[4]}::int[],
      ${p[5]}::int[], ${p[6]}::text[], ${p[7]}::text[], ${p[8]}::text[], ${p[9]}::text[],
      ${p[10]}::text[], ${p[11]}::text[], ${p[12]}::int[], ${p[13]}::int[], ${p[14]}::text[],
      ${p[15]}::text[], ${p[16]}::bool[], ${p[17]}::bigint[])
      AS u(id, kind, campaign_id, owner_id, seq, batch_no, contact_id, phone, text, sender,
        traffic_account_id, encoding, segments, cost, status, error, is_retryable, created_at)`;
  };

  const messageValues = (rows: readonly NewMessage[]): unknown[][] => {
    const columns: unknown[][] = Array.from({ length: 18 }, () => new Array(rows.length));
    rows.forEach((m, i) => {
      const values = [
        m.id,
        m.kind,
        m.campaignId,
        m.ownerId,
        m.seq,
        m.batchNo,
        m.contactId,
        m.phone,
        m.text,
        m.sender,
        m.trafficAccountId,
        m.encoding,
        m.segments,
        m.cost,
        m.status,
        m.error,
        m.isRetryable,
        m.createdAt,
      ];
      values.forEach((value, c) => {
        columns[c]![i] = value;
      });
    });
    return columns;
  };

  return {
    // campaigns

    insertCampaign: (c: NewCampaign): Statement => ({
      text: `WITH c AS (
          INSERT INTO ${campaigns} (id, owner_id, name, text, sender, traffic_account_id, status,
            total, estimated_cost, hold_id, hold_generation, batch_size, plan_next_seq,
            plan_planned, plan_chunk_no, plan_planned_cost, plan_done, schedule_version,
            scheduled_at, started_at, finished_at, created_at, updated_at)
          VALUES (${params(1, 22).join(', ')}, $22)
          RETURNING *
        ),
        k AS (INSERT INTO ${counters} (campaign_id) SELECT id FROM c RETURNING *)
        SELECT ${CAMPAIGN_COLUMNS} FROM c JOIN k ON k.campaign_id = c.id`,
      values: [
        c.id,
        c.ownerId,
        c.name,
        c.text,
        c.sender,
        c.trafficAccountId,
        c.status,
        c.total,
        c.estimatedCost,
        c.holdId,
        c.holdGeneration,
        c.batchSize,
        c.plan.nextSeq,
        c.plan.planned,
        c.plan.chunkNo,
        c.plan.plannedCost,
        c.plan.done,
        c.scheduleVersion,
        c.scheduledAt,
        c.startedAt,
        c.finishedAt,
        c.createdAt,
      ],
    }),

    selectCampaign: (id: string): Statement => ({
      text: `${selectCampaigns} WHERE c.id = $1`,
      values: [id],
    }),

    /** Newest first; `before` is the `seq` of the last campaign of the previous page. */
    listCampaigns: (q: {
      ownerId?: string;
      statuses?: readonly CampaignStatus[];
      before: number | null;
      limit: number;
    }): Statement => {
      const where: string[] = [];
      const values: unknown[] = [];
      if (q.ownerId !== undefined) {
        values.push(q.ownerId);
        where.push(`c.owner_id = $${values.length}`);
      }
      if (q.statuses !== undefined) {
        values.push(q.statuses);
        where.push(`c.status = ANY($${values.length}::text[])`);
      }
      if (q.before !== null) {
        values.push(q.before);
        where.push(`c.seq < $${values.length}`);
      }
      values.push(q.limit);
      return {
        text: `${selectCampaigns} ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
          ORDER BY c.seq DESC LIMIT $${values.length}`,
        values,
      };
    },

    updateCampaign: (
      id: string,
      patch: CampaignPatch,
      ifStatus: readonly CampaignStatus[] | undefined,
    ): Statement => {
      const values: unknown[] = [id];
      const guard =
        ifStatus === undefined ? '' : `AND c.status = ANY($${values.push(ifStatus)}::text[])`;
      const sets = Object.entries(CAMPAIGN_PATCH_COLUMNS)
        .filter(([field]) => patch[field as keyof CampaignPatch] !== undefined)
        .map(
          ([field, column]) => `${column} = $${values.push(patch[field as keyof CampaignPatch])}`,
        );
      if (sets.length === 0) {
        return { text: `${selectCampaigns} WHERE c.id = $1 ${guard}`, values };
      }
      return {
        text: `WITH c AS (
            UPDATE ${campaigns} c SET ${sets.join(', ')} WHERE c.id = $1 ${guard} RETURNING *
          )
          SELECT ${CAMPAIGN_COLUMNS} FROM c JOIN ${counters} k ON k.campaign_id = c.id`,
        values,
      };
    },

    // recipients

    insertRecipients: (campaignId: string, rows: readonly RecipientRow[]): Statement => ({
      text: `INSERT INTO ${recipients} (campaign_id, seq, phone, phone_error, contact_id, vars)
        SELECT $1, u.seq, u.phone, u.phone_error, u.contact_id, u.vars::jsonb
        FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::text[])
          AS u(seq, phone, phone_error, contact_id, vars)
        ON CONFLICT (campaign_id, seq) DO NOTHING`,
      values: [
        campaignId,
        rows.map((r) => r.seq),
        rows.map((r) => r.phone),
        rows.map((r) => r.phoneError),
        rows.map((r) => r.contactId),
        rows.map((r) => (Object.keys(r.vars).length === 0 ? null : JSON.stringify(r.vars))),
      ],
    }),

    readRecipients: (campaignId: string, fromSeq: number, limit: number): Statement => ({
      text: `SELECT seq, phone, phone_error, contact_id, vars FROM ${recipients}
        WHERE campaign_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
      values: [campaignId, fromSeq, limit],
    }),

    // planning

    findTakenPhones: (campaignId: string, phones: readonly string[]): Statement => ({
      text: `SELECT u.phone FROM unnest($2::text[]) WITH ORDINALITY AS u(phone, ord)
        WHERE EXISTS (
          SELECT 1 FROM ${messages} m
          WHERE m.campaign_id = $1 AND m.live_phone = u.phone
        )
        ORDER BY u.ord`,
      values: [campaignId, phones],
    }),

    /**
     * One statement: the compare-and-set on the campaign's cursor and status gates every insert
     * (they select from `cas`), so a moved cursor writes nothing. Returns one row when applied.
     */
    /**
     * A chunk's messages and closed batches. Runs first in the chunk's transaction and takes no
     * lock on the campaign or its counters, so sends of the same campaign are not held up while
     * thousands of rows go in; `advancePlan` then commits the chunk or rolls it back.
     */
    insertPlanChunk: (chunk: PlanChunk): Statement => ({
      text: `WITH inserted AS (
          ${messageInsert(6)}
          RETURNING id
        ),
        new_batches AS (
          INSERT INTO ${batches} (campaign_id, batch_no, size, segments, cost, status,
            count_queued, created_at, updated_at)
          SELECT $1, u.batch_no, u.size, u.segments, u.cost, 'planned', u.size, $2, $2
          FROM unnest($3::int[], $4::int[], $5::int[], $24::bigint[])
            AS u(batch_no, size, segments, cost)
        )
        SELECT count(*)::int AS count FROM inserted`,
      values: [
        chunk.campaignId,
        // Batches take the time of the chunk's first message.
        chunk.messages[0]?.createdAt ?? 0,
        chunk.batches.map((b) => b.batchNo),
        chunk.batches.map((b) => b.size),
        chunk.batches.map((b) => b.segments),
        ...messageValues(chunk.messages),
        chunk.batches.map((b) => b.cost),
      ],
    }),

    /**
     * The chunk's compare-and-set: advances the plan cursor if it still equals the expected one
     * and the status allows it, and adds the chunk's messages to the counters. No row back: the
     * transaction must roll back.
     */
    advancePlan: (chunk: PlanChunk): Statement => {
      const queued = chunk.messages.filter((m) => m.status === 'queued').length;
      return {
        text: `WITH cas AS (
            UPDATE ${campaigns} SET ${planColumns(2, ', ')}
            WHERE id = $1 AND status = ANY($7::text[]) AND ${planColumns(8, ' AND ')}
            RETURNING id
          )
          UPDATE ${counters} c SET count_queued = c.count_queued + $13,
            count_skipped = c.count_skipped + $14
          FROM cas WHERE c.campaign_id = cas.id
          RETURNING c.campaign_id`,
        values: [
          chunk.campaignId,
          ...planValues(chunk.next),
          chunk.ifStatus,
          ...planValues(chunk.expected),
          queued,
          chunk.messages.length - queued,
        ],
      };
    },

    /** Whether the campaign's plan cursor and status still allow the chunk (no lock taken). */
    checkPlan: (chunk: PlanChunk): Statement => ({
      text: `SELECT id FROM ${campaigns}
        WHERE id = $1 AND status = ANY($2::text[]) AND ${planColumns(3, ' AND ')}`,
      values: [chunk.campaignId, chunk.ifStatus, ...planValues(chunk.expected)],
    }),

    // batches

    /**
     * Serialises releases of one campaign with a transaction-scoped advisory lock rather than
     * the campaign row, which a planner's chunk may hold; no row back when the campaign is missing.
     */
    lockReleases: (campaignId: string): Statement => ({
      text: `SELECT id FROM (SELECT pg_advisory_xact_lock(hashtextextended('smsbatch-release:' || $1, 0))) l,
        LATERAL (SELECT id FROM ${campaigns} WHERE id = $1) c`,
      values: [campaignId],
    }),

    /** Run after `lockReleases` in the same transaction, so the in-flight count is current. */
    releaseBatches: (campaignId: string, window: number): Statement => ({
      text: `WITH room AS (
          SELECT greatest($2::int - count(*), 0) AS n FROM ${batches}
          WHERE campaign_id = $1 AND status IN ('queued', 'sending')
        ),
        picked AS (
          SELECT batch_no AS picked_no FROM ${batches}
          WHERE campaign_id = $1 AND status = 'planned'
          ORDER BY batch_no LIMIT (SELECT n FROM room)
        )
        UPDATE ${batches} SET status = 'queued', releases = releases + 1
        FROM picked WHERE campaign_id = $1 AND batch_no = picked_no
        RETURNING ${BATCH_COLUMNS}`,
      values: [campaignId, window],
    }),

    selectBatch: (campaignId: string, batchNo: number): Statement => ({
      text: `SELECT ${BATCH_COLUMNS} FROM ${batches} WHERE campaign_id = $1 AND batch_no = $2`,
      values: [campaignId, batchNo],
    }),

    listBatches: (
      campaignId: string,
      q: { statuses?: readonly BatchStatus[]; after: number | null; limit: number },
    ): Statement => {
      const values: unknown[] = [campaignId, q.after ?? -1, q.limit];
      const statusFilter =
        q.statuses === undefined ? '' : `AND status = ANY($${values.push(q.statuses)}::text[])`;
      return {
        text: `SELECT ${BATCH_COLUMNS} FROM ${batches}
          WHERE campaign_id = $1 AND batch_no > $2 ${statusFilter}
          ORDER BY batch_no LIMIT $3`,
        values,
      };
    },

    updateBatch: (
      campaignId: string,
      batchNo: number,
      patch: BatchPatch,
      ifStatus: readonly BatchStatus[] | undefined,
    ): Statement => {
      const values: unknown[] = [campaignId, batchNo];
      const guard =
        ifStatus === undefined ? '' : `AND status = ANY($${values.push(ifStatus)}::text[])`;
      const sets = Object.entries(BATCH_PATCH_COLUMNS)
        .filter(([field]) => patch[field as keyof BatchPatch] !== undefined)
        .map(([field, column]) => `${column} = $${values.push(patch[field as keyof BatchPatch])}`);
      const where = `WHERE campaign_id = $1 AND batch_no = $2 ${guard}`;
      return {
        text:
          sets.length === 0
            ? `SELECT ${BATCH_COLUMNS} FROM ${batches} ${where}`
            : `UPDATE ${batches} SET ${sets.join(', ')} ${where} RETURNING ${BATCH_COLUMNS}`,
        values,
      };
    },

    // messages

    insertMessages: (rows: readonly NewMessage[]): Statement => ({
      text: messageInsert(1),
      values: messageValues(rows),
    }),

    selectMessage: (id: string): Statement => ({
      text: `SELECT ${MESSAGE_COLUMNS} FROM ${messages} WHERE id = $1`,
      values: [id],
    }),

    /** Matches by id first, then by provider id, in the order given. */
    findMessages: (ids: readonly string[], providerMessageIds: readonly string[]): Statement => ({
      text: `SELECT ${MESSAGE_COLUMNS} FROM ${messages}
        WHERE id = ANY($1::text[] || ARRAY(
            SELECT message_id FROM ${providerIds} WHERE provider_message_id = ANY($2::text[])
          ))
          AND (id = ANY($1::text[]) OR provider_message_id = ANY($2::text[]))
        ORDER BY coalesce(array_position($1::text[], id),
          cardinality($1::text[]) + array_position($2::text[], provider_message_id))`,
      values: [ids, providerMessageIds],
    }),

    listMessages: (
      campaignId: string,
      q: { status?: MessageStatus; batchNo?: number; after: number | null; limit: number },
    ): Statement => {
      const values: unknown[] = [campaignId, q.after ?? -1, q.limit];
      const page = 'seq > $2 ORDER BY seq LIMIT $3';
      if (q.batchNo !== undefined) {
        const status = q.status === undefined ? '' : `AND status = $${values.push(q.status)}`;
        return {
          text: `SELECT ${MESSAGE_COLUMNS} FROM ${messages}
            WHERE campaign_id = $1 AND batch_no = $${values.push(q.batchNo)} ${status} AND ${page}`,
          values,
        };
      }
      if (q.status === undefined) {
        return {
          text: `SELECT ${MESSAGE_COLUMNS} FROM ${messages} WHERE campaign_id = $1 AND ${page}`,
          values,
        };
      }
      values.push(q.status);
      if (isWatched(q.status)) {
        return {
          text: `SELECT ${MESSAGE_COLUMNS} FROM ${messages}
            WHERE campaign_id = $1 AND watch_status = $4 AND ${page}`,
          values,
        };
      }
      // Batch by batch in order (batch order is seq order), so a page stops early.
      return {
        text: `SELECT ${messageColumnsOf('m')}
          FROM (SELECT DISTINCT batch_no FROM (${batchesWith(q.status, '$1')}) s) b
          CROSS JOIN LATERAL (
            SELECT * FROM ${messages} m
            WHERE m.campaign_id = $1 AND m.batch_no = b.batch_no AND m.status = $4 AND m.seq > $2
            ORDER BY m.seq
          ) m
          ORDER BY b.batch_no, m.seq LIMIT $3`,
        values,
      };
    },

    /** Null when nothing can match (test messages belong to no campaign and no bulk). */
    scanMessages: (scan: MessageScan): Statement | null => {
      const values: unknown[] = [scan.status, scan.limit];
      const filters = ['status = $1'];
      const add = (clause: (p: string) => string, value: unknown): string | null => {
        if (value === undefined) return null;
        const placeholder = `$${values.push(value)}`;
        filters.push(clause(placeholder));
        return placeholder;
      };
      add((p) => `kind = ${p}`, scan.kind);
      const campaign = add((p) => `campaign_id = ${p}`, scan.campaignId);
      add((p) => `updated_at < ${p}`, scan.updatedBefore);
      add((p) => `lease_expires_at < ${p}`, scan.leaseExpiredBefore);
      add((p) => `(last_lookup_at IS NULL OR last_lookup_at < ${p})`, scan.lookedUpBefore);
      add((p) => `lookup_count < ${p}`, scan.maxLookups);
      const bulk = add((p) => `bulk_id = ${p}`, scan.bulkId);
      const where = filters.join(' AND ');
      // Test messages, and campaign messages in a watched status, come oldest first from the
      // watch index. Campaign messages in a hot-path status come batch by batch (oldest batch
      // first), so the scan stops after `limit` rows instead of sorting every candidate.
      const branches: string[] = [];
      const watchable = isWatched(scan.status) || (scan.kind !== 'campaign' && campaign === null);
      if (bulk === null && watchable) {
        branches.push(`(SELECT ${MESSAGE_COLUMNS} FROM ${messages}
          WHERE watch_status = $1 AND ${where} ORDER BY watch_updated_at, id LIMIT $2)`);
      }
      if (scan.kind !== 'test' && (bulk !== null || !isWatched(scan.status))) {
        const source =
          bulk === null
            ? batchesWith(scan.status, campaign)
            : `SELECT campaign_id, batch_no, NULL::bigint AS updated_at FROM ${bulkBatches}
                WHERE bulk_id = ${bulk}`;
        branches.push(`(SELECT m.* FROM (
            SELECT campaign_id, batch_no FROM (${source}) s
            ORDER BY updated_at NULLS LAST, campaign_id, batch_no
          ) b
          CROSS JOIN LATERAL (
            SELECT ${MESSAGE_COLUMNS} FROM ${messages}
            WHERE campaign_id = b.campaign_id AND batch_no = b.batch_no AND ${where}
            ORDER BY updated_at, id
          ) m
          LIMIT $2)`);
      }
      if (branches.length === 0) return null;
      return {
        text: `SELECT * FROM (${branches.join(' UNION ALL ')}) m ORDER BY updated_at, id LIMIT $2`,
        values,
      };
    },

    claimBatch: (campaignId: string, batchNo: number, o: ClaimOptions): Statement => ({
      text: `WITH moved AS (
          UPDATE ${messages} SET status = 'sending', attempt_id = $3, lease_expires_at = $4,
            updated_at = $5
          WHERE campaign_id = $1 AND batch_no = $2 AND status = 'queued'
          RETURNING ${CLAIM_COLUMNS}, seq, 'queued'::text AS from_status,
            'sending'::text AS to_status, false AS accepted_now
        ),
        ${campaignCounters('moved')},
        ${batchCounters('moved', '$5', "'sending'", 'attempts = b.attempts + 1, attempt_id = $3')}
        SELECT ${CLAIM_COLUMNS} FROM moved ORDER BY seq`,
      values: [campaignId, batchNo, o.attemptId, o.leaseUntil, o.now],
    }),

    claimIds: (ids: readonly string[], o: ClaimOptions): Statement => ({
      text: `WITH moved AS (
          UPDATE ${messages} SET status = 'sending', attempt_id = $2, lease_expires_at = $3,
            updated_at = $4
          WHERE id = ANY($1::text[]) AND status = 'queued'
          RETURNING ${CLAIM_COLUMNS}, 'queued'::text AS from_status,
            'sending'::text AS to_status, false AS accepted_now
        ),
        ${campaignCounters('moved')},
        ${batchCounters('moved', '$4', "'sending'")}
        SELECT ${CLAIM_COLUMNS} FROM moved ORDER BY array_position($1::text[], id)`,
      values: [ids, o.attemptId, o.leaseUntil, o.now],
    }),

    /**
     * Transitions with distinct ids, in one statement. The guards are in the WHERE clause, which
     * PostgreSQL re-checks on the latest row version when a concurrent writer got there first;
     * `prior_*` carry the replaced values out through RETURNING. Rows go in id order, so two
     * writers lock shared messages in the same order; `ord` restores the caller's.
     */
    applyTransitions: (transitions: readonly MessageTransition[], now: number): Statement => {
      const order = transitions.map((_, index) => index);
      order.sort((a, b) => (transitions[a]!.id < transitions[b]!.id ? -1 : 1));
      const sorted = order.map((index) => transitions[index]!);
      return {
        text: `WITH input AS (
          SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[],
            $6::text[], $7::bool[], $8::text[], $9::bool[], $10::text[], $11::bool[], $12::bool[],
            $14::int[])
            AS i(id, from_statuses, attempt_id, to_status, sets_error, error, is_retryable,
              provider_message_id, sets_bulk_id, bulk_id, accept, increment_retry, ord)
        ),
        moved AS (
          UPDATE ${messages} m SET
            prior_status = m.status,
            prior_accepted = m.is_accepted,
            status = i.to_status,
            updated_at = $13,
            sent_at = CASE WHEN i.to_status = 'sent' THEN $13 ELSE m.sent_at END,
            delivered_at = CASE WHEN i.to_status = 'delivered' THEN $13 ELSE m.delivered_at END,
            failed_at = CASE WHEN i.to_status = 'failed' THEN $13 ELSE m.failed_at END,
            lease_expires_at = CASE WHEN m.status = 'sending' THEN NULL ELSE m.lease_expires_at END,
            error = CASE WHEN i.sets_error THEN i.error ELSE m.error END,
            is_retryable = coalesce(i.is_retryable, m.is_retryable),
            provider_message_id = coalesce(i.provider_message_id, m.provider_message_id),
            bulk_id = CASE WHEN i.sets_bulk_id THEN i.bulk_id ELSE m.bulk_id END,
            is_accepted = m.is_accepted OR i.accept,
            retry_count = m.retry_count + i.increment_retry::int,
            attempt_id = CASE WHEN i.increment_retry THEN NULL ELSE m.attempt_id END
          FROM input i
          WHERE m.id = i.id
            AND m.status = ANY(i.from_statuses::text[])
            AND (i.attempt_id IS NULL OR m.attempt_id = i.attempt_id)
          RETURNING i.ord, m.id, m.kind, m.campaign_id, m.batch_no, m.owner_id,
            m.prior_status AS from_status, m.status AS to_status, m.cost,
            i.accept AND NOT m.prior_accepted AS accepted_now,
            i.provider_message_id, m.bulk_id, i.sets_bulk_id
        ),
        ${campaignCounters('moved')},
        ${batchCounters('moved', '$13')},
        provider_ids AS (
          INSERT INTO ${providerIds} (provider_message_id, message_id)
          SELECT provider_message_id, id FROM moved WHERE provider_message_id IS NOT NULL
        ),
        bulk_ids AS (
          INSERT INTO ${bulkBatches} (bulk_id, campaign_id, batch_no)
          SELECT DISTINCT bulk_id, campaign_id, batch_no FROM moved
          WHERE sets_bulk_id AND bulk_id IS NOT NULL AND batch_no IS NOT NULL
            AND campaign_id IS NOT NULL
          ON CONFLICT DO NOTHING
        )
        SELECT id, kind, campaign_id, batch_no, owner_id, from_status, to_status, cost,
          accepted_now
        FROM moved ORDER BY ord`,
        values: [
          sorted.map((t) => t.id),
          sorted.map((t) => `{${typeof t.from === 'string' ? t.from : t.from.join(',')}}`),
          sorted.map((t) => t.attemptId ?? null),
          sorted.map((t) => t.to),
          sorted.map((t) => t.set?.error !== undefined),
          sorted.map((t) => t.set?.error ?? null),
          sorted.map((t) => t.set?.isRetryable ?? null),
          sorted.map((t) => t.set?.providerMessageId ?? null),
          sorted.map((t) => t.set?.bulkId !== undefined),
          sorted.map((t) => t.set?.bulkId ?? null),
          sorted.map((t) => t.set?.accept === true),
          sorted.map((t) => t.set?.incrementRetry === true),
          now,
          order,
        ],
      };
    },

    /** Returns one row: `count` and `cost` of the cancelled messages. */
    cancelQueued: (campaignId: string, now: number): Statement => ({
      text: `WITH moved AS (
          UPDATE ${messages} SET status = 'cancelled', updated_at = $2
          WHERE campaign_id = $1 AND status = 'queued'
            AND (campaign_id, batch_no) IN (
              SELECT campaign_id, batch_no FROM (${batchesWith('queued', '$1')}) s
            )
          RETURNING campaign_id, batch_no, 'queued'::text AS from_status,
            'cancelled'::text AS to_status, cost, false AS accepted_now
        ),
        ${campaignCounters('moved')},
        moved_per_batch AS (
          SELECT batch_no, count(*) AS n FROM moved WHERE batch_no IS NOT NULL GROUP BY batch_no
        ),
        -- Unsent batches (nothing of them sending) are cancelled and batches that lost messages
        -- recounted, in one update per batch row: a statement may change a row only once.
        touched AS (
          SELECT b.batch_no, coalesce(d.n, 0) AS n
          FROM ${batches} b LEFT JOIN moved_per_batch d ON d.batch_no = b.batch_no
          WHERE b.campaign_id = $1
            AND ((b.status IN ('planned', 'queued') AND b.count_sending = 0) OR d.n IS NOT NULL)
        ),
        batch_counts AS (
          UPDATE ${batches} b SET
            status = CASE WHEN b.status IN ('planned', 'queued') AND b.count_sending = 0
              THEN 'cancelled' ELSE b.status END,
            count_queued = b.count_queued - t.n,
            count_cancelled = b.count_cancelled + t.n,
            updated_at = $2
          FROM touched t WHERE b.campaign_id = $1 AND b.batch_no = t.batch_no
        )
        SELECT count(*)::int AS count, coalesce(sum(cost), 0)::bigint AS cost FROM moved`,
      values: [campaignId, now],
    }),

    /** Returns one row: `count` and `cost` of the requeued messages. */
    requeueFailed: (campaignId: string, now: number): Statement => ({
      text: `WITH moved AS (
          UPDATE ${messages} SET status = 'queued', error = NULL, is_retryable = false,
            attempt_id = NULL, updated_at = $2
          WHERE campaign_id = $1 AND watch_status = 'failed' AND is_retryable
          RETURNING campaign_id, batch_no, 'failed'::text AS from_status,
            'queued'::text AS to_status, cost, false AS accepted_now
        ),
        ${campaignCounters('moved')},
        ${batchCounters('moved', '$2', "CASE WHEN b.status IN ('queued', 'sending') THEN b.status ELSE 'planned' END")}
        SELECT count(*)::int AS count, coalesce(sum(cost), 0)::bigint AS cost FROM moved`,
      values: [campaignId, now],
    }),

    markLookedUp: (ids: readonly string[], now: number): Statement => ({
      text: `UPDATE ${messages} SET lookup_count = lookup_count + 1, last_lookup_at = $2
        WHERE id = ANY($1::text[])`,
      values: [ids, now],
    }),

    // delivery events

    /** Returns the keys that were new; rows are inserted in the given order. */
    insertDeliveryEvents: (rows: readonly StoredDeliveryEvent[]): Statement => ({
      text: `INSERT INTO ${events} (${EVENT_COLUMNS})
        SELECT u.key, u.provider_message_id, u.reference, u.state, u.provider_status, u.reason,
          u.occurred_at, u.source, u.raw::jsonb, u.received_at, u.processed_at
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
          $7::bigint[], $8::text[], $9::text[], $10::bigint[], $11::bigint[]) WITH ORDINALITY
          AS u(key, provider_message_id, reference, state, provider_status, reason, occurred_at,
            source, raw, received_at, processed_at, ord)
        ORDER BY u.ord
        ON CONFLICT (key) DO NOTHING
        RETURNING key`,
      values: [
        rows.map((e) => e.key),
        rows.map((e) => e.providerMessageId),
        rows.map((e) => e.reference),
        rows.map((e) => e.state),
        rows.map((e) => e.providerStatus),
        rows.map((e) => e.reason),
        rows.map((e) => e.occurredAt),
        rows.map((e) => e.source),
        rows.map((e) => (e.raw === undefined ? null : JSON.stringify(e.raw))),
        rows.map((e) => e.receivedAt),
        rows.map((e) => e.processedAt),
      ],
    }),

    listPendingDeliveryEvents: (q: {
      references: readonly string[];
      providerMessageIds: readonly string[];
      receivedBefore?: number;
      limit: number;
    }): Statement => {
      const values: unknown[] = [q.limit];
      const handles: string[] = [];
      if (q.references.length > 0) {
        handles.push(`reference = ANY($${values.push(q.references)}::text[])`);
      }
      if (q.providerMessageIds.length > 0) {
        handles.push(`provider_message_id = ANY($${values.push(q.providerMessageIds)}::text[])`);
      }
      if (q.receivedBefore !== undefined) {
        handles.push(`received_at < $${values.push(q.receivedBefore)}`);
      }
      return {
        text: `SELECT ${EVENT_COLUMNS} FROM ${events}
          WHERE processed_at IS NULL AND (${handles.join(' OR ')})
          ORDER BY seq LIMIT $1`,
        values,
      };
    },

    markDeliveryEventsProcessed: (keys: readonly string[], now: number): Statement => ({
      text: `UPDATE ${events} SET processed_at = $2
        WHERE key = ANY($1::text[]) AND processed_at IS NULL`,
      values: [keys, now],
    }),
  };
}

export type StoreStatements = ReturnType<typeof storeStatements>;
