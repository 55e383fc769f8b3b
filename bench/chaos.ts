// `npm run chaos`: a campaign sent by three worker processes (BullMQ + PostgreSQL) while things
// break: the fake Mitto answers 5xx and 429, accepts then drops the connection, hangs; a random
// worker is SIGKILLed and restarted every few seconds; Redis loses its data once; PostgreSQL
// kills our connections once. Then it checks the promises of the send protocol and exits 1 if
// one is broken: no duplicate, every message terminal, credits captured == cost of accepted.

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { LedgerEntry } from '@smsbatch/core';
import pg from 'pg';
import { createCampaign, grantCredits } from './lib/campaign.js';
import {
  OWNER,
  startCluster,
  startWebhook,
  WEBHOOK_SECRET,
  type WorkerProcess,
} from './lib/cluster.js';
import { startFake } from './lib/fake.js';
import { loadLine, machine, RESULTS_DIR, say, table } from './lib/report.js';
import {
  cleanUp,
  DATABASE_URL,
  REDIS_URL,
  redisUrlWithDb,
  sleep,
  withRedis,
} from './lib/services.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    /** A Redis database of the chaos run's own: it is the one flushed. */
    'redis-db': { type: 'string', default: process.env.CHAOS_REDIS_DB ?? '11' },
    seed: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
const MESSAGES = Number(args.messages ?? (quick ? 20_000 : 100_000));
const WORKERS = 3;
const SEED = Number(args.seed ?? Number.parseInt(randomBytes(3).toString('hex'), 16));
const REDIS_DB = Number(args['redis-db']);
const SETTLE_TIMEOUT_MS = quick ? 150_000 : 600_000;
const KILL_EVERY_MS = { min: 2_000, max: 5_000 };
/**
 * Small batches and a paced traffic account, so the campaign makes hundreds of requests (each
 * one a chance for a fault) and lives long enough for a dozen kills.
 */
const BATCH = 100;
const RATE_PER_SECOND = quick ? 400 : 1_000;
const FAULTS = {
  serverErrorRate: 0.04,
  rateLimitRate: 0.04,
  retryAfterSeconds: 1,
  dropAfterAcceptRate: 0.04,
  hangRate: 0.03,
  hangAfterAccept: false,
  latencyMs: { min: 2, max: 40 },
};
/** Short windows, so that what a crash leaves behind is repaired within seconds. */
const PIPELINE = {
  leaseMs: 6_000,
  unconfirmedAfterMs: 15_000,
  staleAfterMs: 3_000,
  pendingEventRetryMs: 500,
  retryBaseMs: 100,
  retryMaxMs: 2_000,
};
const WORKER_OPTIONS = { reconcileEveryMs: 500, lockDuration: 5_000, stalledInterval: 2_000 };
/** Below the lease, so a hung request ends (as `unknown`) before its claim expires. */
const CLIENT = { timeoutMs: 2_000, connectTimeoutMs: 1_000 };

// A small seeded generator: the same --seed replays the same kill schedule.
let state = SEED >>> 0 || 1;
const random = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};

interface Check {
  check: string;
  expected: string;
  actual: string;
  isOk: boolean;
}

async function main() {
  const startedAt = new Date().toISOString();
  const atStart = machine();
  const redisUrl = redisUrlWithDb(REDIS_DB, REDIS_URL);
  say(
    `chaos: ${MESSAGES.toLocaleString('en')} messages in batches of ${BATCH} at ${RATE_PER_SECOND}/s, ${WORKERS} worker processes, seed ${SEED}; ${loadLine(atStart)}`,
  );
  say(
    `  Redis: database ${REDIS_DB} of ${REDIS_URL} (FLUSHDB there is the "Redis lost its data" step;`,
  );
  say('  other suites share database 0 of the same server, so FLUSHALL is never used)');

  let cluster: Awaited<ReturnType<typeof startCluster>> | null = null;
  const webhook = await startWebhook((events) =>
    cluster!.producer.pipeline.receiveDeliveryReports(events),
  );
  const fake = await startFake(
    {
      seed: SEED,
      faults: FAULTS,
      deliveryReports: {
        url: webhook.url,
        headers: { 'X-Webhook-Token': WEBHOOK_SECRET },
        delayMs: 300,
        failureRate: 0.02,
        duplicateRate: 0.02,
        lateSentRate: 0.02,
      },
    },
    'own-process',
  );
  cluster = await startCluster({
    workers: WORKERS,
    fake,
    redisUrl,
    pipeline: PIPELINE,
    workerOptions: WORKER_OPTIONS,
    client: CLIENT,
    config: {
      WORKER_CONCURRENCY: '5',
      QUEUE_RATE_MAX: '100000',
      SMS_BATCH_SIZE: String(BATCH),
      TRAFFIC_ACCOUNT_RATE_MAX: String(RATE_PER_SECOND),
    },
    verbose: args.verbose!,
  });
  const { pipeline, ledger, pool } = cluster.producer;
  const GRANT = MESSAGES * 3;
  await grantCredits(ledger, GRANT);
  const campaign = await createCampaign(pipeline, MESSAGES, { name: 'chaos' });

  const events: { atMs: number; event: string }[] = [];
  const enqueuedAt = Date.now();
  const log = (event: string) => {
    const atMs = Date.now() - enqueuedAt;
    events.push({ atMs, event });
    say(`  +${(atMs / 1000).toFixed(1)} s ${event}`);
  };
  await pipeline.campaigns.enqueue(OWNER, campaign.id);
  log('campaign enqueued');

  // The chaos loop: kills on a random schedule, a Redis flush at 30% and a PostgreSQL
  // connection kill at 60% of the messages accepted, until the campaign settles.
  let kills = 0;
  let isFlushed = false;
  let terminated: number | null = null;
  let nextKillAt = Date.now() + KILL_EVERY_MS.min;
  let settledAt: number | null = null;
  let lastProgressAt = Date.now();
  const deadline = enqueuedAt + SETTLE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const view = await pipeline.campaigns.status(OWNER, campaign.id).catch(() => null);
    if (view?.finishedAt != null) {
      settledAt = view.finishedAt;
      log(`campaign ${view.status}`);
      break;
    }
    const { accepted } = await fake.stats();
    if (view && Date.now() - lastProgressAt >= 10_000) {
      lastProgressAt = Date.now();
      log(
        `progress: ${accepted} accepted; queued ${view.queued}, sending ${view.sending}, unknown ${view.unknown}, sent ${view.sent}, delivered ${view.delivered}, failed ${view.failed}`,
      );
    }
    if (Date.now() >= nextKillAt && cluster.workers.length > 0) {
      const victim: WorkerProcess = cluster.workers[Math.floor(random() * cluster.workers.length)]!;
      await cluster.stopWorker(victim, 'kill');
      kills++;
      const replacement = await cluster.addWorker();
      log(`SIGKILL worker ${victim.pid}, started ${replacement.pid} (${accepted} accepted so far)`);
      nextKillAt =
        Date.now() + KILL_EVERY_MS.min + random() * (KILL_EVERY_MS.max - KILL_EVERY_MS.min);
    }
    if (!isFlushed && accepted >= MESSAGES * 0.3) {
      await withRedis(redisUrl, (redis) => redis.flushdb());
      isFlushed = true;
      // The second half hangs after accepting: the messages went out, the answer never comes.
      await fake.setFaults({ hangAfterAccept: true });
      log(
        `FLUSHDB on Redis database ${REDIS_DB}; hangs now accept first (${accepted} accepted so far)`,
      );
    }
    if (terminated === null && accepted >= MESSAGES * 0.6) {
      terminated = await terminateBackends(cluster.applicationName);
      log(
        `pg_terminate_backend on ${terminated} connections of ours (${accepted} accepted so far)`,
      );
    }
    await sleep(200);
  }
  const settleMs = settledAt === null ? null : settledAt - enqueuedAt;
  if (settledAt === null) log(`NOT settled after ${SETTLE_TIMEOUT_MS / 1000} s`);

  // Every report the fake still holds goes out, then the store catches up with them.
  await fake
    .flush(60_000)
    .catch((error: Error) => log(`delivery reports not flushed: ${error.message}`));
  const dlrDeadline = Date.now() + 30_000;
  let view = await pipeline.campaigns.status(OWNER, campaign.id);
  while (view.sent > 0 && Date.now() < dlrDeadline) {
    await sleep(500);
    view = await pipeline.campaigns.status(OWNER, campaign.id);
  }
  log(
    `delivery reports applied: delivered ${view.delivered}, failed ${view.failed}, still sent ${view.sent}`,
  );

  // The checks.
  const duplicates = await fake.duplicates();
  const references = (await fake.references()).filter((r): r is string => r !== null);
  const acceptedIds = [...new Set(references)];
  const schema = cluster.schema;
  const q = (text: string, values: unknown[] = []) => pool!.query(text, values);
  const byStatus = Object.fromEntries(
    (
      await q(
        `SELECT status, count(*)::int AS n FROM "${schema}".messages WHERE campaign_id = $1 GROUP BY status`,
        [campaign.id],
      )
    ).rows.map((row: { status: string; n: number }) => [row.status, row.n]),
  ) as Record<string, number>;
  const notTerminal = (byStatus.queued ?? 0) + (byStatus.sending ?? 0) + (byStatus.unknown ?? 0);
  const acceptedCost = Number(
    (
      await q(
        `SELECT coalesce(sum(cost), 0)::bigint AS cost FROM "${schema}".messages WHERE id = ANY($1::text[])`,
        [acceptedIds],
      )
    ).rows[0].cost,
  );
  const strayAccepted = Number(
    (
      await q(
        `SELECT count(*)::int AS n FROM "${schema}".messages WHERE campaign_id = $1 AND is_accepted AND NOT (id = ANY($2::text[]))`,
        [campaign.id, acceptedIds],
      )
    ).rows[0].n,
  );
  const unmarkedAccepted = Number(
    (
      await q(
        `SELECT count(*)::int AS n FROM "${schema}".messages WHERE id = ANY($1::text[]) AND NOT is_accepted`,
        [acceptedIds],
      )
    ).rows[0].n,
  );
  const entries: LedgerEntry[] = [];
  let cursor: string | null = null;
  do {
    const page = await ledger.entries(OWNER, { limit: 1000, cursor });
    entries.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  const sum = (kind: LedgerEntry['kind']) =>
    entries.filter((e) => e.kind === kind).reduce((total, e) => total + e.amount, 0);
  const captured = sum('capture');
  const balance = await ledger.balance(OWNER);
  const holdIds = [...new Set(entries.filter((e) => e.holdId !== null).map((e) => e.holdId!))];
  const holds = await Promise.all(holdIds.map((id) => ledger.getHold(id)));
  const holdsBalanced = holds.every(
    (h) => h !== null && h.captured + h.released + h.remaining === h.amount && h.remaining >= 0,
  );
  const finalView = await pipeline.campaigns.status(OWNER, campaign.id);

  const checks: Check[] = [
    {
      check: 'duplicate sends (by reference)',
      expected: '0',
      actual: String(duplicates.byReference),
      isOk: duplicates.byReference === 0,
    },
    {
      check: 'duplicate sends (same phone and text)',
      expected: '0',
      actual: String(duplicates.byDestinationAndText),
      isOk: duplicates.byDestinationAndText === 0,
    },
    {
      check: 'messages not terminal (queued, sending, unknown)',
      expected: '0',
      actual: String(notTerminal),
      isOk: notTerminal === 0,
    },
    {
      check: 'every accepted message is marked accepted, and only those',
      expected: '0 unmarked, 0 stray',
      actual: `${unmarkedAccepted} unmarked, ${strayAccepted} stray`,
      isOk: unmarkedAccepted === 0 && strayAccepted === 0,
    },
    {
      check: 'credits captured == cost of messages the provider accepted',
      expected: String(acceptedCost),
      actual: `${captured} (campaign view: ${finalView.creditsDebited})`,
      isOk: captured === acceptedCost && finalView.creditsDebited === acceptedCost,
    },
    {
      check: 'ledger: balance == credited − captured, nothing reserved, every hold balanced',
      expected: `${GRANT - acceptedCost}, 0, yes`,
      actual: `${balance.balance}, ${balance.reserved}, ${holdsBalanced ? 'yes' : 'no'}`,
      isOk:
        balance.balance === sum('credit') - captured &&
        balance.balance === GRANT - acceptedCost &&
        balance.reserved === 0 &&
        balance.reserved === sum('hold') - captured - sum('release') &&
        balance.available === balance.balance &&
        holdsBalanced,
    },
    {
      check: 'campaign settled',
      expected: 'completed, 0 credits held',
      actual: `${finalView.status}, ${finalView.creditsReserved} held`,
      isOk:
        finalView.finishedAt !== null &&
        finalView.status === 'completed' &&
        finalView.creditsReserved === 0,
    },
    {
      check: 'time to settle (enqueue → finishedAt)',
      expected: `< ${SETTLE_TIMEOUT_MS / 1000} s`,
      actual: settleMs === null ? 'not settled' : `${(settleMs / 1000).toFixed(1)} s`,
      isOk: settleMs !== null,
    },
  ];
  const fakeStats = await fake.stats();
  say();
  say(`messages by status: ${JSON.stringify(byStatus)}`);
  say(
    `faults injected: ${fakeStats.serverErrors} 5xx, ${fakeStats.rateLimited} 429, ${fakeStats.dropped} accept-then-drop, ${fakeStats.hung} hangs, of ${fakeStats.sendRequests} send requests; ${kills} SIGKILLs; Redis flushed ${isFlushed ? 'once' : 'never'}; ${terminated ?? 0} PostgreSQL connections terminated`,
  );
  say(
    `delivery reports: ${fakeStats.dlrPosted} posted (${fakeStats.dlrRetries} retried, ${fakeStats.dlrFailed} given up), ${webhook.received()} applied by the webhook, ${webhook.failures()} answered non-2xx`,
  );
  say();
  table([
    ['check', 'expected', 'actual', 'result'],
    ...checks.map((c) => [c.check, c.expected, c.actual, c.isOk ? 'ok' : 'FAILED']),
  ]);
  const isOk = checks.every((c) => c.isOk);
  const atEnd = machine();
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}chaos.json`;
  writeFileSync(
    path,
    `${JSON.stringify(
      {
        benchmark: 'chaos',
        command: `npm run chaos${quick ? ' -- --quick' : ''}`,
        quick,
        startedAt,
        finishedAt: new Date().toISOString(),
        machine: { atStart, atEnd },
        setup: {
          messages: MESSAGES,
          batchSize: BATCH,
          trafficAccountRatePerSecond: RATE_PER_SECOND,
          workerProcesses: WORKERS,
          workerConcurrency: 5,
          seed: SEED,
          faults: FAULTS,
          faultsAfterFlush: { hangAfterAccept: true },
          deliveryReports: {
            delayMs: 300,
            failureRate: 0.02,
            duplicateRate: 0.02,
            lateSentRate: 0.02,
          },
          pipeline: PIPELINE,
          workers: WORKER_OPTIONS,
          client: CLIENT,
          kills: `a random worker SIGKILLed every ${KILL_EVERY_MS.min / 1000}–${KILL_EVERY_MS.max / 1000} s and a new one started, until the campaign settled`,
          redis: `FLUSHDB of database ${REDIS_DB} once 30% of the messages were accepted (the deployment's only Redis database: the same loss as FLUSHALL)`,
          postgres:
            'pg_terminate_backend on every session with the run application_name (workers and producer) once 60% were accepted',
        },
        events,
        messagesByStatus: byStatus,
        fake: fakeStats,
        kills,
        postgresConnectionsTerminated: terminated,
        settleMs,
        checks,
        isOk,
      },
      null,
      2,
    )}\n`,
  );
  say(
    `\n${isOk ? 'all checks passed' : 'SOME CHECKS FAILED'}; written to ${path}; ${loadLine(atEnd)}`,
  );
  await webhook.close();
  await cluster.stop();
  await fake.close();
  return isOk;
}

/** Kills every PostgreSQL session of this run (found by its application_name) from outside. */
async function terminateBackends(applicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
      [applicationName],
    );
    return (rows[0] as { n: number }).n;
  } finally {
    await client.end();
  }
}

let isOk = false;
try {
  isOk = await main();
} catch (error) {
  process.stderr.write(`chaos failed to run: ${(error as Error)?.stack ?? error}\n`);
} finally {
  await cleanUp();
}
process.exit(isOk ? 0 : 1);
