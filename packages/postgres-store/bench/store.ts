// Store benchmark: in a schema of its own, stores a 1,000,000-recipient campaign (recipients, then
// plan chunks of messages and batches, as the planner writes them), then claims every batch of 500
// and records it as accepted, as the send workers do. Prints rows/s, claims/s, writes/s and peak
// RSS, and writes the medians over the runs to bench/results/postgres-store.json.
// Usage: npm run bench -w @smsbatch/postgres-store -- [--quick] [--runs N] [--workers N]

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CampaignStore, NewBatch, NewMessage, PlanCursor, RecipientRow } from '@smsbatch/core';
import pg from 'pg';
import { createPostgresStore, migrate } from '../src/index.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    workers: { type: 'string', default: '4' },
  },
});
const RECIPIENTS = args.quick ? 100_000 : 1_000_000;
const RUNS = Number(args.runs);
const WORKERS = Number(args.workers);
const BATCH_SIZE = 500;
const RECIPIENT_CHUNK = 10_000;
const PLAN_CHUNK = 5_000;
const RELEASE_WINDOW = 2 * WORKERS;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RESULTS = new URL('../../../bench/results/postgres-store.json', import.meta.url);

interface RunFigures {
  insertRecipientsRowsPerSec: number;
  planMessagesPerSec: number;
  claimsPerSec: number;
  claimMessagesPerSec: number;
  resultWritesPerSec: number;
  resultMessagesPerSec: number;
  claimAndWriteMessagesPerSec: number;
}

const perSec = (count: number, ms: number) => Math.round((count * 1000) / ms);

async function timed(work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

/** Runs `work` on `workers` concurrent loops until `next` yields nothing. */
async function inParallel<T>(next: () => T | undefined, work: (item: T) => Promise<void>) {
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let item = next(); item !== undefined; item = next()) await work(item);
    }),
  );
}

async function insertRecipients(store: CampaignStore, campaignId: string) {
  let seq = 0;
  await inParallel(
    () => (seq < RECIPIENTS ? seq : undefined),
    async (from) => {
      seq = Math.min(from + RECIPIENT_CHUNK, RECIPIENTS);
      const rows: RecipientRow[] = [];
      for (let s = from; s < Math.min(from + RECIPIENT_CHUNK, RECIPIENTS); s++) {
        rows.push({
          seq: s,
          phone: `+3069${String(s).padStart(8, '0')}`,
          phoneError: null,
          contactId: `contact-${s}`,
          vars: s % 10 === 0 ? { name: `Name ${s}` } : {},
        });
      }
      await store.insertRecipients(campaignId, rows);
    },
  );
}

/** The planner's loop: read a chunk, drop taken phones, append messages and closed batches. */
async function plan(store: CampaignStore, campaignId: string, ownerId: string, now: number) {
  let cursor: PlanCursor = { nextSeq: 0, planned: 0, chunkNo: 0, plannedCost: 0, done: false };
  while (!cursor.done) {
    const rows = await store.readRecipients(campaignId, cursor.nextSeq, PLAN_CHUNK);
    const taken = new Set(
      await store.findTakenPhones(
        campaignId,
        rows.map((r) => r.phone),
      ),
    );
    const messages: NewMessage[] = [];
    for (const row of rows) {
      if (taken.has(row.phone)) continue;
      messages.push({
        id: `${campaignId}-${row.seq}`,
        kind: 'campaign',
        campaignId,
        ownerId,
        seq: row.seq,
        batchNo: Math.floor((cursor.planned + messages.length) / BATCH_SIZE),
        contactId: row.contactId,
        phone: row.phone,
        text: `Hi ${row.vars.name ?? 'there'}, spring sale: 20% off everything until Sunday. Stop: https://s.example/u`,
        sender: 'Shop',
        trafficAccountId: 'ta-1',
        encoding: 'GSM-7',
        segments: 1,
        cost: 1,
        status: 'queued',
        error: null,
        isRetryable: false,
        createdAt: now,
      });
    }
    const planned = cursor.planned + messages.length;
    const last = (rows.at(-1)?.seq ?? cursor.nextSeq - 1) + 1;
    const done = last >= RECIPIENTS;
    const closedUpTo = done ? Math.ceil(planned / BATCH_SIZE) : Math.floor(planned / BATCH_SIZE);
    const batches: NewBatch[] = [];
    for (let no = Math.floor(cursor.planned / BATCH_SIZE); no < closedUpTo; no++) {
      const size = Math.min(BATCH_SIZE, planned - no * BATCH_SIZE);
      batches.push({ batchNo: no, size, segments: size, cost: size });
    }
    const next: PlanCursor = {
      nextSeq: last,
      planned,
      chunkNo: cursor.chunkNo + 1,
      plannedCost: cursor.plannedCost + messages.length,
      done,
    };
    const applied = await store.appendPlanChunk({
      campaignId,
      expected: cursor,
      ifStatus: ['sending'],
      next,
      messages,
      batches,
    });
    if (!applied) throw new Error('plan chunk refused');
    cursor = next;
  }
  return Math.ceil(cursor.planned / BATCH_SIZE);
}

async function runOnce(pool: pg.Pool): Promise<RunFigures> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  await migrate(pool, { schema });
  try {
    const store = createPostgresStore(pool, { schema });
    const now = Date.now();
    const campaign = await store.createCampaign({
      id: `c${randomBytes(6).toString('hex')}`,
      ownerId: 'owner-bench',
      name: 'bench',
      text: 'Hi {{name}}',
      sender: 'Shop',
      trafficAccountId: 'ta-1',
      status: 'sending',
      total: RECIPIENTS,
      estimatedCost: RECIPIENTS,
      holdId: null,
      holdGeneration: 0,
      batchSize: BATCH_SIZE,
      plan: { nextSeq: 0, planned: 0, chunkNo: 0, plannedCost: 0, done: false },
      scheduleVersion: 0,
      scheduledAt: null,
      startedAt: now,
      finishedAt: null,
      createdAt: now,
    });
    const insertMs = await timed(() => insertRecipients(store, campaign.id));
    let batchCount = 0;
    const planMs = await timed(async () => {
      batchCount = await plan(store, campaign.id, campaign.ownerId, now);
    });

    // Claims: workers release batches within the window (as the planner continuation does), then
    // claim them; the phase ends with every message `sending`. Only counts are kept, so the
    // figures carry no memory of the benchmark's own.
    let releasedUpTo = 0;
    let claimedMessages = 0;
    const released: number[] = [];
    const claimMs = await timed(() =>
      inParallel(
        () => (releasedUpTo < batchCount || released.length > 0 ? true : undefined),
        async () => {
          if (released.length === 0) {
            const batches = await store.releaseBatches(campaign.id, RELEASE_WINDOW);
            released.push(...batches.map((b) => b.batchNo));
            releasedUpTo += batches.length;
          }
          const batchNo = released.shift();
          if (batchNo === undefined) return;
          await store.updateBatch(campaign.id, batchNo, { status: 'sending', updatedAt: now });
          const messages = await store.claimMessages(
            { campaignId: campaign.id, batchNo },
            { attemptId: `a${batchNo}`, leaseUntil: now + 60_000, now },
          );
          claimedMessages += messages.length;
          // Completed batches leave the window, as the record step would do.
          await store.updateBatch(campaign.id, batchNo, { status: 'completed', updatedAt: now });
        },
      ),
    );
    if (claimedMessages !== RECIPIENTS) throw new Error(`claimed ${claimedMessages} messages`);

    // Result writes: one transition write per batch (every message accepted) and a batch update.
    // Nothing was skipped, so batch `n` holds seqs n * BATCH_SIZE onwards.
    let next = 0;
    const writeMs = await timed(() =>
      inParallel(
        () => (next < batchCount ? next++ : undefined),
        async (batchNo) => {
          const first = batchNo * BATCH_SIZE;
          const size = Math.min(BATCH_SIZE, RECIPIENTS - first);
          const applied = await store.applyTransitions(
            Array.from({ length: size }, (_, i) => {
              const id = `${campaign.id}-${first + i}`;
              return {
                id,
                from: 'sending' as const,
                attemptId: `a${batchNo}`,
                to: 'sent' as const,
                set: { providerMessageId: `p-${id}`, bulkId: `bulk-${batchNo}`, accept: true },
              };
            }),
            { now },
          );
          if (applied.length !== size) throw new Error(`batch ${batchNo}: ${applied.length}`);
          await store.updateBatch(campaign.id, batchNo, {
            bulkId: `bulk-${batchNo}`,
            updatedAt: now,
          });
        },
      ),
    );
    const final = await store.getCampaign(campaign.id);
    if (final?.counts.sent !== RECIPIENTS || final.acceptedCost !== RECIPIENTS) {
      throw new Error(`counters off: ${JSON.stringify(final?.counts)}`);
    }
    return {
      insertRecipientsRowsPerSec: perSec(RECIPIENTS, insertMs),
      planMessagesPerSec: perSec(RECIPIENTS, planMs),
      claimsPerSec: perSec(batchCount, claimMs),
      claimMessagesPerSec: perSec(RECIPIENTS, claimMs),
      resultWritesPerSec: perSec(batchCount, writeMs),
      resultMessagesPerSec: perSec(RECIPIENTS, writeMs),
      claimAndWriteMessagesPerSec: perSec(RECIPIENTS, claimMs + writeMs),
    };
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: WORKERS + 1 });
const runs: RunFigures[] = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    const figures = await runOnce(pool);
    runs.push(figures);
    console.log(`run ${run}/${RUNS}`, figures);
  }
} finally {
  await pool.end();
}
const medians = Object.fromEntries(
  Object.keys(runs[0]!).map((key) => [key, median(runs.map((r) => r[key as keyof RunFigures]))]),
);
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
const result = {
  package: '@smsbatch/postgres-store',
  recipients: RECIPIENTS,
  batchSize: BATCH_SIZE,
  workers: WORKERS,
  runs: RUNS,
  medians,
  peakRssMb,
  all: runs,
  node: process.version,
  measuredAt: new Date().toISOString(),
};
console.log('medians', medians, `peak RSS ${peakRssMb} MB`);
await mkdir(new URL('.', RESULTS), { recursive: true });
await writeFile(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
