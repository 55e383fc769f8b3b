// Enqueue latency through the real HTTP server (`startRetailServer`): `POST /campaigns/:id/enqueue`
// timed from the client, on drafts of 1k, 10k and 100k recipients created beforehand through the
// SDK (create is not timed), on the embedded defaults and on the real stack (BullMQ + PostgreSQL).

import { parseArgs } from 'node:util';
import { silentLogger } from '@smsbatch/core';
import { Pool } from 'undici';
import { startRetailServer } from '../examples/retail-server/src/app.js';
import { audience, startCluster, TEXT } from './lib/cluster.js';
import { startFake } from './lib/fake.js';
import {
  loadLine,
  percentile,
  printTargets,
  round,
  say,
  startResult,
  type Target,
  table,
} from './lib/report.js';
import {
  cleanUp,
  DATABASE_URL,
  databaseUrlFor,
  deleteKeys,
  dropSchema,
  onCleanup,
  REDIS_URL,
  redisUrlWithDb,
  sleep,
  uniqueName,
} from './lib/services.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    stacks: { type: 'string', default: 'embedded,real,real-busy' },
    /** The example server always uses the BullMQ prefix `smsbatch`: give it a database of its own. */
    'redis-db': { type: 'string', default: process.env.BENCH_ENQUEUE_REDIS_DB ?? '12' },
  },
});
const quick = args.quick!;
const SIZES = [1_000, 10_000, 100_000];
const SAMPLES: Record<number, number> = quick
  ? { 1000: 8, 10000: 5, 100000: 3 }
  : { 1000: 40, 10000: 25, 100000: 12 };
const stacks = args.stacks!.split(',').filter((s) => !(quick && s === 'real-busy'));
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const BACKGROUND_SIZE = 200_000;
const result = startResult(
  'enqueue',
  'POST /campaigns/:id/enqueue latency (client side, keep-alive) through startRetailServer',
  quick,
);

interface SizeFigures {
  recipients: number;
  samples: number[];
  /** real-busy: enqueues timed while the background campaign still had messages queued. */
  samplesWhileBusy?: number;
  p50: number;
  p99: number;
  max: number;
}

async function measure(stack: string): Promise<SizeFigures[]> {
  const isReal = stack !== 'embedded';
  const schemas = { sdk: uniqueName('enq'), app: uniqueName('app') };
  const redisUrl = redisUrlWithDb(Number(args['redis-db']), REDIS_URL);
  const env: Record<string, string> = {
    PORT: '0',
    ADMIN_TOKEN,
    LOG_LEVEL: 'error',
    WORKER: isReal ? 'off' : 'on',
    ...(isReal
      ? { DATABASE_URL: databaseUrlFor(schemas.sdk), REDIS_URL: redisUrl, WORKER: 'off' }
      : {}),
  };
  if (isReal) {
    onCleanup(() => dropSchema(schemas.sdk, DATABASE_URL));
    onCleanup(() => dropSchema(schemas.app, DATABASE_URL));
    onCleanup(() => deleteKeys('smsbatch', redisUrl));
  }
  const server = await startRetailServer({ env, logger: silentLogger, schemas });
  onCleanup(() => server.close());

  const created = await fetch(`${server.url}/admin/owners`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench Retail', credits: 900_000_000 }),
  });
  if (created.status !== 201) throw new Error(`owner: ${created.status} ${await created.text()}`);
  const { ownerId, apiKey } = (await created.json()) as { ownerId: string; apiKey: string };

  // real-busy: two worker processes on the server's schema and prefix, sending a 100k campaign
  // while the enqueues are timed.
  let background: Awaited<ReturnType<typeof startBackground>> | null = null;
  if (stack === 'real-busy')
    background = await startBackground(server, ownerId, schemas.sdk, redisUrl);

  // One keep-alive connection, as an app's HTTP client keeps. It is dropped after 1 s idle: one
  // left idle through the drafts' creation was reset by the server as it was reused.
  const client = new Pool(server.url, { connections: 1, keepAliveTimeout: 1_000 });
  onCleanup(async () => {
    if (!client.closed && !client.destroyed) await client.close();
  });
  const enqueueOnce = async (campaignId: string): Promise<number> => {
    // Untimed: opens the connection if it was dropped, so the timed call measures the server.
    // After a long pause (a GC-heavy create) the first request can still meet a reset: once more.
    const touch = async () =>
      (await client.request({ path: '/healthz', method: 'GET' })).body.dump();
    await touch().catch(touch);
    const started = performance.now();
    const response = await client.request({
      path: `/campaigns/${campaignId}/enqueue`,
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}` },
    });
    await response.body.dump();
    const ms = performance.now() - started;
    if (response.statusCode !== 202) throw new Error(`enqueue answered ${response.statusCode}`);
    return ms;
  };

  const figures: SizeFigures[] = [];
  let from = 0;
  // One warm-up enqueue (JIT, connections, prepared statements), not counted.
  const warm = await server.stack.pipeline.campaigns.create(ownerId, {
    name: 'warm-up',
    text: TEXT,
    recipients: audience(100),
  });
  await enqueueOnce(warm.id);
  await server.stack.pipeline.campaigns.cancel(ownerId, warm.id);
  for (const size of SIZES) {
    // Drafts first, then the enqueues back to back: on real-busy they all overlap the
    // background campaign, which starts here.
    const drafts: string[] = [];
    for (let i = 0; i < SAMPLES[size]!; i++) {
      const draft = await server.stack.pipeline.campaigns.create(ownerId, {
        name: `enqueue ${size}`,
        text: TEXT,
        recipients: audience(size, from),
      });
      from += size;
      drafts.push(draft.id);
    }
    await background?.next();
    const samples: number[] = [];
    let whileBusy = 0;
    for (const id of drafts) {
      const isBusy = (await background?.isSending()) ?? false;
      samples.push(await enqueueOnce(id));
      if (isBusy) whileBusy++;
      // Not sent: cancelling stops the planner (the embedded one runs in this process) and
      // returns the credits. The next sample waits a moment for it to settle.
      await server.stack.pipeline.campaigns.cancel(ownerId, id);
      await sleep(100);
    }
    const row = {
      recipients: size,
      samples: samples.map((ms) => round(ms, 2)),
      p50: round(percentile(samples, 50), 2),
      p99: round(percentile(samples, 99), 2),
      max: round(Math.max(...samples), 2),
      ...(background ? { samplesWhileBusy: whileBusy } : {}),
    };
    say(
      `  ${stack}: ${size.toLocaleString('en')} recipients, ${samples.length} enqueues: p50 ${row.p50} ms, p99 ${row.p99} ms${background ? ` (${whileBusy} while the background campaign sent)` : ''}`,
    );
    figures.push(row);
  }
  await background?.stop();
  await client.close();
  await server.close();
  return figures;
}

/**
 * Two worker processes on the server's own schema and prefix, and one 200k campaign per size,
 * created up front: each size's enqueues are timed while its background campaign sends.
 */
async function startBackground(
  server: Awaited<ReturnType<typeof startRetailServer>>,
  ownerId: string,
  schema: string,
  redisUrl: string,
) {
  const fake = await startFake({ recordAccepted: false }, 'own-process');
  const cluster = await startCluster({
    workers: 2,
    fake,
    redisUrl,
    config: { WORKER_CONCURRENCY: '8', QUEUE_RATE_MAX: '100000' },
    reuse: { schema, prefix: 'smsbatch' },
  });
  const pending: string[] = [];
  for (let i = 0; i < SIZES.length; i++) {
    const campaign = await server.stack.pipeline.campaigns.create(ownerId, {
      name: `background ${i}`,
      text: TEXT,
      recipients: audience(BACKGROUND_SIZE, 50_000_000 + i * BACKGROUND_SIZE),
    });
    pending.push(campaign.id);
  }
  let current: string | null = null;
  return {
    /** Starts the next background campaign (cancelling the previous one). */
    async next() {
      if (current) await server.stack.pipeline.campaigns.cancel(ownerId, current).catch(() => {});
      current = pending.shift() ?? null;
      if (current) await server.stack.pipeline.campaigns.enqueue(ownerId, current);
    },
    async isSending() {
      if (!current) return false;
      const view = await server.stack.pipeline.campaigns.status(ownerId, current);
      return view.status === 'sending' && view.queued > 0;
    },
    async stop() {
      if (current) await server.stack.pipeline.campaigns.cancel(ownerId, current).catch(() => {});
      await cluster.stop();
      await fake.close();
    },
  };
}

async function main() {
  say(`enqueue latency; ${loadLine(result.atStart)}`);
  const out: Record<string, SizeFigures[]> = {};
  for (const stack of stacks) out[stack] = await measure(stack);
  say();
  table([
    ['stack', 'recipients', 'enqueues', 'p50 ms', 'p99 ms', 'max ms'],
    ...Object.entries(out).flatMap(([stack, rows]) =>
      rows.map((r) => [stack, r.recipients, r.samples.length, r.p50, r.p99, r.max]),
    ),
  ]);
  const targets: Target[] = Object.entries(out).map(([stack, rows]) => {
    const big = rows.find((r) => r.recipients === 100_000)!;
    return {
      target: `enqueue < 200 ms p99 for a 100k-recipient campaign (${stack})`,
      measured: `p99 ${big.p99} ms (p50 ${big.p50} ms, ${big.samples.length} enqueues)`,
      isMet: big.p99 < 200,
      ...(big.samples.length < 100
        ? { note: `p99 of ${big.samples.length} samples is the slowest one (nearest rank)` }
        : {}),
    };
  });
  printTargets(targets);
  const written = result.write({
    setup: {
      sizes: SIZES,
      samples: SAMPLES,
      stacks: {
        embedded:
          'startRetailServer, no DATABASE_URL/REDIS_URL (memory store, in-process queue, WORKER on)',
        real: `startRetailServer with WORKER=off, PostgreSQL, BullMQ on Redis db ${args['redis-db']} (prefix smsbatch); no worker running`,
        'real-busy': `as real, with two worker processes (concurrency 8) sending a ${BACKGROUND_SIZE.toLocaleString('en')}-message campaign meanwhile (one per size; samplesWhileBusy counts the enqueues it overlapped)`,
      },
      method:
        'per size, the drafts are created first through the SDK (untimed); then each is enqueued (timed: client-side wall time of the HTTP call, keep-alive) and cancelled at once, 100 ms apart',
    },
    medians: Object.fromEntries(
      Object.entries(out).map(([stack, rows]) => [
        stack,
        Object.fromEntries(rows.map((r) => [r.recipients, { p50: r.p50, p99: r.p99 }])),
      ]),
    ),
    targets,
    runs: out,
  });
  say(loadLine(written.machine.atEnd));
}

try {
  await main();
} finally {
  await cleanUp();
}
