// Plans every statement of the store's catalogue against a million messages and fails on a
// sequential scan of the big tables. The cases are typed by the catalogue, so a new statement
// without a case does not compile. Each statement is planned twice: with its values (the custom
// plan) and as a prepared statement forced onto a generic plan, which PostgreSQL may switch a
// named statement to after five runs.

import { MESSAGE_STATUSES, type MessageTransition } from '@smsbatch/core';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type StoreStatements, storeStatements } from '../../src/internal/store-statements.js';
import { newCampaign, newMessage } from '../fixtures.js';
import { describePg, useTestSchema } from '../helpers.js';

const CAMPAIGNS = 200;
const PER_CAMPAIGN = 5_000;
const BATCH_SIZE = 500;
const TEST_MESSAGES = 20_000;
const BIG_TABLES = new Set(['messages', 'message_provider_ids', 'delivery_events']);

/** Campaign `k` is at stage `k % 5`: every message status appears in some campaign. */
function fillSql(schema: string): string {
  const s = `"${schema}"`;
  const statusOf = `CASE
    WHEN g % 97 = 0 THEN 'skipped'
    WHEN (g / ${PER_CAMPAIGN}) % 5 = 0 THEN 'queued'
    WHEN (g / ${PER_CAMPAIGN}) % 5 = 1 THEN CASE
      WHEN g % ${PER_CAMPAIGN} < 2500 THEN 'delivered'
      WHEN g % ${PER_CAMPAIGN} < 3000 THEN 'sending' ELSE 'queued' END
    WHEN (g / ${PER_CAMPAIGN}) % 5 = 2 THEN 'sent'
    WHEN (g / ${PER_CAMPAIGN}) % 5 = 3 THEN CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'delivered' END
    ELSE CASE WHEN g % 200 = 0 THEN 'unknown' ELSE 'cancelled' END
  END`;
  return `
    INSERT INTO ${s}.campaigns (id, owner_id, name, text, sender, traffic_account_id, status, total,
      estimated_cost, hold_generation, batch_size, plan_next_seq, plan_planned, plan_chunk_no,
      plan_planned_cost, plan_done, schedule_version, created_at, updated_at)
    SELECT 'c' || k, 'owner-' || (k % 20), 'n', 't', 'Shop', 'ta-1',
      CASE WHEN k % 5 = 0 THEN 'sending' ELSE 'completed' END, ${PER_CAMPAIGN}, ${PER_CAMPAIGN},
      0, ${BATCH_SIZE}, 0, 0, 0, 0, k % 5 <> 0, 0, k, k
    FROM generate_series(0, ${CAMPAIGNS - 1}) k;
    INSERT INTO ${s}.campaign_counters (campaign_id) SELECT id FROM ${s}.campaigns;

    INSERT INTO ${s}.messages (id, kind, campaign_id, owner_id, seq, batch_no, phone, text,
      sender, traffic_account_id, encoding, segments, cost, status, is_accepted, attempt_id,
      lease_expires_at, bulk_id, provider_message_id, created_at, updated_at)
    SELECT 'c' || (g / ${PER_CAMPAIGN}) || '-' || (g % ${PER_CAMPAIGN}), 'campaign',
      'c' || (g / ${PER_CAMPAIGN}), 'owner-1', g % ${PER_CAMPAIGN},
      CASE WHEN st = 'skipped' THEN NULL ELSE (g % ${PER_CAMPAIGN}) / ${BATCH_SIZE} END,
      '+3069' || lpad(g::text, 8, '0'), 'Hello', 'Shop', 'ta-1', 'GSM-7', 1, 1, st,
      st IN ('sent', 'delivered'), CASE WHEN st = 'sending' THEN 'a' END,
      CASE WHEN st = 'sending' THEN g END,
      CASE WHEN st IN ('sent', 'delivered', 'failed')
        THEN 'bulk-' || (g / ${PER_CAMPAIGN}) || '-' || ((g % ${PER_CAMPAIGN}) / ${BATCH_SIZE}) END,
      CASE WHEN st IN ('sent', 'delivered') THEN 'p' || g END, g, g
    FROM generate_series(0, ${CAMPAIGNS * PER_CAMPAIGN - 1}) g, LATERAL (SELECT ${statusOf} AS st) x;

    INSERT INTO ${s}.messages (id, kind, owner_id, seq, phone, text, sender, traffic_account_id,
      encoding, segments, cost, status, created_at, updated_at)
    SELECT 't' || g, 'test', 'owner-' || (g % 20), 0, '+3069' || lpad(g::text, 8, '0'), 'Test',
      'Shop', 'ta-1', 'GSM-7', 1, 1, (ARRAY['delivered', 'sent', 'failed', 'queued'])[g % 4 + 1],
      g, g
    FROM generate_series(0, ${TEST_MESSAGES - 1}) g;

    INSERT INTO ${s}.message_provider_ids (provider_message_id, message_id)
    SELECT provider_message_id, id FROM ${s}.messages WHERE provider_message_id IS NOT NULL;
    INSERT INTO ${s}.bulk_batches (bulk_id, campaign_id, batch_no)
    SELECT DISTINCT bulk_id, campaign_id, batch_no FROM ${s}.messages WHERE bulk_id IS NOT NULL;

    -- Batches from their messages; the last batch of a still-planning campaign is not closed.
    INSERT INTO ${s}.batches (campaign_id, batch_no, size, segments, cost, status, ${MESSAGE_STATUSES.map((status) => `count_${status}`).join(', ')}, created_at, updated_at)
    SELECT campaign_id, batch_no, count(*), count(*), count(*),
      CASE WHEN bool_or(status = 'queued') THEN 'planned' ELSE 'completed' END,
      ${MESSAGE_STATUSES.map((status) => `count(*) FILTER (WHERE status = '${status}')`).join(', ')},
      0, 0
    FROM ${s}.messages m WHERE batch_no IS NOT NULL
      AND NOT (batch_no = ${PER_CAMPAIGN / BATCH_SIZE - 1}
        AND (SELECT NOT plan_done FROM ${s}.campaigns c WHERE c.id = m.campaign_id))
    GROUP BY campaign_id, batch_no;

    INSERT INTO ${s}.delivery_events (key, provider_message_id, reference, state,
      provider_status, source, received_at, processed_at)
    SELECT 'k' || g, 'p' || g, 'c1-' || g, 'delivered', 'Delivered', 'webhook', g,
      CASE WHEN g % 100 <> 0 THEN g END
    FROM generate_series(0, 199999) g;

    ANALYZE ${s}.campaigns, ${s}.campaign_counters, ${s}.messages, ${s}.message_provider_ids,
      ${s}.bulk_batches, ${s}.batches, ${s}.delivery_events;
  `;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function seqScans(node: PlanNode, found: string[] = []): string[] {
  if (node['Node Type'] === 'Seq Scan' && BIG_TABLES.has(node['Relation Name'] ?? '')) {
    found.push(node['Relation Name']!);
  }
  for (const child of node.Plans ?? []) seqScans(child, found);
  return found;
}

type Cases = { [K in keyof StoreStatements]: Parameters<StoreStatements[K]>[] };

const ids = (campaign: number, from: number, count = BATCH_SIZE) =>
  Array.from({ length: count }, (_, i) => `c${campaign}-${from + i}`);

const claimOptions = { attemptId: 'a', leaseUntil: 10, now: 5 };

const transitions = (
  list: string[],
  from: MessageTransition['from'],
  to: MessageTransition['to'],
) =>
  list.map(
    (id, i): MessageTransition => ({
      id,
      from,
      attemptId: 'a',
      to,
      set: { providerMessageId: `np${i}`, bulkId: 'nb', accept: true, error: null },
    }),
  );

const chunkMessages = Array.from({ length: 2_000 }, (_, i) =>
  newMessage('c0', PER_CAMPAIGN + i, { batchNo: 10 + Math.floor(i / BATCH_SIZE) }),
);

const planChunk = {
  campaignId: 'c0',
  expected: { nextSeq: 0, planned: 0, chunkNo: 0, plannedCost: 0, done: false },
  ifStatus: ['sending'] as const,
  next: { nextSeq: 2_000, planned: 2_000, chunkNo: 1, plannedCost: 2_000, done: false },
  messages: chunkMessages,
  batches: [{ batchNo: 10, size: 500, segments: 500, cost: 500 }],
};

const cases: Cases = {
  insertCampaign: [[newCampaign('new-campaign')]],
  selectCampaign: [['c1']],
  listCampaigns: [
    [{ ownerId: 'owner-3', before: null, limit: 21 }],
    [{ ownerId: 'owner-3', statuses: ['sending', 'paused'], before: 150, limit: 21 }],
    [{ statuses: ['scheduled', 'sending', 'paused', 'cancelled'], before: null, limit: 101 }],
  ],
  updateCampaign: [
    ['c1', { status: 'paused', updatedAt: 5 }, ['sending']],
    ['c1', {}, undefined],
  ],
  insertRecipients: [
    [
      'c1',
      Array.from({ length: 1_000 }, (_, seq) => ({
        seq,
        phone: `+${seq}`,
        phoneError: null,
        contactId: null,
        vars: {},
      })),
    ],
  ],
  readRecipients: [['c1', 0, 5_000]],
  findTakenPhones: [['c0', chunkMessages.map((m) => m.phone)]],
  insertPlanChunk: [[planChunk]],
  advancePlan: [[planChunk]],
  checkPlan: [[planChunk]],
  lockReleases: [['c5']],
  releaseBatches: [['c5', 8]],
  selectBatch: [['c5', 3]],
  listBatches: [
    ['c5', { after: null, limit: 101 }],
    ['c5', { statuses: ['planned', 'queued'], after: 3, limit: 101 }],
  ],
  updateBatch: [
    ['c5', 3, { status: 'sending', attempts: 1, updatedAt: 5 }, ['queued']],
    ['c5', 3, {}, undefined],
  ],
  insertMessages: [[[newMessage(null, 0, { id: 'new-test' })]]],
  selectMessage: [['c7-42']],
  findMessages: [
    [ids(7, 0), []],
    [[], Array.from({ length: 500 }, (_, i) => `p${10_000 + i}`)],
    [ids(7, 0, 250), Array.from({ length: 250 }, (_, i) => `p${10_000 + i}`)],
  ],
  listMessages: [
    ...MESSAGE_STATUSES.map((status): Cases['listMessages'][number] => [
      'c1',
      { status, after: null, limit: 51 },
    ]),
    ['c1', { after: 1200, limit: 51 }],
    ['c1', { batchNo: 3, status: 'queued', after: null, limit: 1001 }],
    ['c0', { status: 'queued', after: 4000, limit: 51 }],
  ],
  scanMessages: [
    [{ status: 'sending', leaseExpiredBefore: 1_000_000, limit: 500 }],
    [{ status: 'unknown', updatedBefore: 1_000_000, limit: 500 }],
    [{ status: 'queued', kind: 'test', updatedBefore: 1_000_000, limit: 500 }],
    [{ status: 'sent', updatedBefore: 1_000_000, lookedUpBefore: 10, maxLookups: 3, limit: 500 }],
    [{ status: 'sent', campaignId: 'c2', lookedUpBefore: 10, limit: 500 }],
    [{ status: 'sent', bulkId: 'bulk-2-3', lookedUpBefore: 10, limit: 500 }],
    [{ status: 'queued', campaignId: 'c0', limit: 500 }],
    [{ status: 'failed', campaignId: 'c3', limit: 500 }],
    [{ status: 'delivered', kind: 'campaign', limit: 500 }],
  ],
  claimBatch: [['c5', 8, claimOptions]],
  claimIds: [[ids(5, 4_000), claimOptions]],
  applyTransitions: [
    [transitions(ids(1, 2_500), 'sending', 'sent'), 5],
    [transitions(ids(2, 500), ['sending', 'unknown', 'sent'], 'delivered'), 5],
  ],
  cancelQueued: [['c5', 5]],
  requeueFailed: [['c3', 5]],
  markLookedUp: [[ids(2, 1_000), 5]],
  insertDeliveryEvents: [
    [
      Array.from({ length: 500 }, (_, i) => ({
        key: `new-${i}`,
        providerMessageId: `p${i}`,
        reference: `c2-${i}`,
        state: 'delivered' as const,
        providerStatus: 'Delivered',
        reason: null,
        occurredAt: null,
        source: 'webhook' as const,
        raw: { i },
        receivedAt: 5,
        processedAt: null,
      })),
    ],
  ],
  listPendingDeliveryEvents: [
    [{ references: ids(1, 0), providerMessageIds: [], limit: 1_000 }],
    [{ references: [], providerMessageIds: ['p1', 'p2'], receivedBefore: 5_000, limit: 1_000 }],
    [{ references: [], providerMessageIds: [], receivedBefore: 5_000, limit: 1_000 }],
  ],
  markDeliveryEventsProcessed: [[Array.from({ length: 500 }, (_, i) => `k${i * 100}`), 5]],
};

describePg('EXPLAIN of every store statement on 1M messages', () => {
  const db = useTestSchema({ poolSize: 2 });
  let client: pg.PoolClient;

  beforeAll(async () => {
    client = await db.pool.connect();
    await client.query(fillSql(db.schema));
  }, 120_000);
  // Registered after useTestSchema's hooks, so it runs before the pool ends.
  afterAll(() => client?.release());

  const sql = () => storeStatements(db.schema);

  it('has cases for every statement of the catalogue', () => {
    for (const [name, list] of Object.entries(cases)) {
      expect(list.length, name).toBeGreaterThan(0);
    }
    expect(Object.keys(cases).sort()).toEqual(Object.keys(sql()).sort());
  });

  for (const [name, list] of Object.entries(cases) as [keyof StoreStatements, unknown[][]][]) {
    it(`${name}: no sequential scan of messages, custom or generic plan`, async () => {
      for (const args of list) {
        const statement = (
          sql()[name] as (...a: unknown[]) => ReturnType<StoreStatements[typeof name]>
        )(...args);
        if (statement === null) continue;
        const values = statement.values as unknown[];
        const custom = await client.query(`EXPLAIN (FORMAT JSON) ${statement.text}`, values);
        const customPlan = custom.rows[0]['QUERY PLAN'][0].Plan as PlanNode;
        expect(
          seqScans(customPlan),
          `${name} custom plan of ${JSON.stringify(args).slice(0, 120)}`,
        ).toEqual([]);

        await client.query(`PREPARE explained AS ${statement.text}`);
        try {
          await client.query('SET plan_cache_mode = force_generic_plan');
          const literals = values.map((value) => literal(client, value)).join(', ');
          const generic = await client.query(
            `EXPLAIN (FORMAT JSON) EXECUTE explained${values.length > 0 ? `(${literals})` : ''}`,
          );
          const genericPlan = generic.rows[0]['QUERY PLAN'][0].Plan as PlanNode;
          expect(seqScans(genericPlan), `${name} generic plan`).toEqual([]);
        } finally {
          await client.query('RESET plan_cache_mode');
          await client.query('DEALLOCATE explained');
        }
      }
    });
  }
});

/** A value as SQL text: EXECUTE takes expressions, not bind parameters. */
function literal(client: pg.PoolClient, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) {
    const elements = value.map((element) =>
      element === null
        ? 'NULL'
        : `"${String(element).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`,
    );
    return client.escapeLiteral(`{${elements.join(',')}}`);
  }
  return client.escapeLiteral(String(value));
}
