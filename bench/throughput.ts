// Throughput: a campaign end to end (enqueue until settled; delivery reports not included: the
// fake reports none, so a message is final once `sent`) beside the raw HTTP floor measured in the
// same run against the same fake. On the embedded defaults (fake in its own process, and in this
// one) and on the real stack (BullMQ + PostgreSQL, worker processes); then bulk vs USE_BULK_SMS=false.

import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { type PipelineOptions, parseConfig } from '@smsbatch/core';
import { createStack } from '../examples/retail-server/src/stack.js';
import { type CampaignRun, grantCredits, runCampaign } from './lib/campaign.js';
import { SENDER, startCluster, TRAFFIC_ACCOUNT } from './lib/cluster.js';
import { type CpuShares, startCpuAccounting } from './lib/cpu.js';
import { startFake } from './lib/fake.js';
import { type FloorRun, floorBatches, measureFloor } from './lib/floor.js';
import { type ProfileSummary, startProfile } from './lib/profile.js';
import {
  loadLine,
  median,
  printTargets,
  round,
  say,
  startResult,
  type Target,
  table,
} from './lib/report.js';
import { cleanUp } from './lib/services.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    /** embedded, sweep (worker processes × concurrency on the real stack), real, single. */
    parts: { type: 'string' },
    /** Messages per run for the bulk vs single part (default 10,000, quick 1,000). */
    'single-messages': { type: 'string' },
    /**
     * Where the time goes: the real stack's workers time their store and ledger calls; the
     * embedded stack runs one extra round (not counted) under the CPU profiler.
     */
    profile: { type: 'boolean', default: false },
    /** Pipeline options of the real stack, as JSON (batchWindow, planChunkBatches, ...). */
    pipeline: { type: 'string', default: '{}' },
  },
});
const quick = args.quick!;
const MESSAGES = quick ? 20_000 : 100_000;
const SINGLE_MESSAGES = Number(args['single-messages'] ?? (quick ? 1_000 : 10_000));
const RUNS = Number(args.runs ?? (quick ? 2 : 5));
const WORKERS = Number(args.workers);
const CONCURRENCY = Number(args.concurrency);
const BATCH = 500;
const parts = new Set(
  (args.parts ?? (quick ? 'embedded,real,single' : 'embedded,sweep,real,single')).split(','),
);
/** Worker processes × concurrency tried by the sweep, on 2 cores. */
const SWEEP: [number, number][] = [
  [1, 8],
  [1, 16],
  [2, 8],
  [3, 5],
  [3, 8],
];
const REAL_PIPELINE = JSON.parse(args.pipeline!) as PipelineOptions;
const result = startResult(
  'throughput',
  'campaign end to end (enqueue → settled, no delivery reports) vs the raw HTTP floor, same run',
  quick,
);

interface Paired {
  floor: number;
  /** CPU µs per message of the process posting the floor's requests. */
  floorCpuMicros: number;
  pipeline: number;
  /** pipeline / floor of the same round. */
  ratio: number;
  run: CampaignRun;
  /** CPU seconds per process group during the pipeline run. */
  cpu: CpuShares;
}

/** One round's floor and pipeline side by side, printed as it ends. */
function pair(label: string, floor: FloorRun, run: CampaignRun, shares: CpuShares): Paired {
  const paired = {
    floor: floor.messagesPerSecond,
    floorCpuMicros: floor.cpuMicrosPerMessage,
    pipeline: run.messagesPerSecond,
    ratio: run.messagesPerSecond / floor.messagesPerSecond,
    run,
    cpu: shares,
  };
  say(
    `  ${label}: floor ${paired.floor.toLocaleString('en')} msg/s, pipeline ${paired.pipeline.toLocaleString('en')} msg/s (${(paired.ratio * 100).toFixed(1)}%); CPU s ${JSON.stringify(shares.cpuSeconds)} in ${shares.wallSeconds} s`,
  );
  return paired;
}

const summarise = (rounds: Paired[]) => ({
  floorMessagesPerSecond: Math.round(median(rounds.map((r) => r.floor))),
  pipelineMessagesPerSecond: Math.round(median(rounds.map((r) => r.pipeline))),
  /** Median of the per-round ratios: load that drifts between rounds hits both lanes alike. */
  ratio: round(median(rounds.map((r) => r.ratio)), 3),
  cpuMicrosPerMessage: cpuPerMessage(rounds),
  floorCpuMicrosPerMessage: round(median(rounds.map((r) => r.floorCpuMicros)), 2),
});

/** Median CPU µs per message of each process group, over the rounds. */
function cpuPerMessage(rounds: Paired[]): Record<string, number> {
  const groups = new Set(rounds.flatMap((r) => Object.keys(r.cpu.cpuSeconds)));
  return Object.fromEntries(
    [...groups].map((group) => [
      group,
      round(median(rounds.map((r) => ((r.cpu.cpuSeconds[group] ?? 0) * 1e6) / r.run.messages)), 1),
    ]),
  );
}

/**
 * What the CPU the run used allows on this machine: all cores busy with the pipeline's own
 * processes and services (other processes left out), at the µs per message measured.
 */
function cpuCeiling(perMessage: Record<string, number>): { micros: number; ceiling: number } {
  const micros = Object.entries(perMessage)
    .filter(([group]) => group !== 'other processes')
    .reduce((sum, [, us]) => sum + us, 0);
  return { micros: round(micros, 1), ceiling: Math.round((cpus().length * 1e6) / micros) };
}

/** The embedded defaults: memory store and ledger, in-process queue and limiter. */
async function embedded(where: 'in-process' | 'own-process', count: number, useBulk = true) {
  const fake = await startFake({ recordAccepted: false }, where);
  const rounds: Paired[] = [];
  const batches = floorBatches(count, BATCH);
  let profile: ProfileSummary | null = null;
  // Round 0 warms the JIT and the connections; it is not counted, nor is the profiled one.
  const rounds_ = RUNS + (args.profile ? 1 : 0);
  for (let round_ = 0; round_ <= rounds_; round_++) {
    const isProfiled = round_ > RUNS;
    const floor = await measureFloor(
      fake.url,
      fake.apiKey,
      batches,
      5,
      useBulk ? 'bulk' : 'single',
    );
    // A fresh stack per round: the memory store keeps every message it was given.
    const stack = await createStack({
      config: parseConfig({
        MITTO_API_BASE: fake.url,
        MITTO_API_KEY: fake.apiKey,
        MITTO_SENDER: SENDER,
        MITTO_TRAFFIC_ACCOUNT_ID: TRAFFIC_ACCOUNT,
        USE_BULK_SMS: useBulk,
      }),
      role: 'all',
    });
    await grantCredits(stack.ledger, count * 2);
    const before = (await fake.stats()).accepted;
    let cpu: ReturnType<typeof startCpuAccounting> | null = null;
    let profiler: Awaited<ReturnType<typeof startProfile>> | null = null;
    const run = await runCampaign(stack.pipeline, count, {
      onStart: async () => {
        if (isProfiled) profiler = await startProfile();
        cpu = startCpuAccounting(() => ({
          pipeline: [process.pid],
          ...(where === 'own-process' ? { fake: [fake.pid] } : {}),
        }));
      },
    });
    const shares = cpu!.stop();
    if (profiler !== null) {
      profile = await (profiler as { stop(): Promise<ProfileSummary> }).stop();
      printCpuProfile(profile);
    }
    const accepted = (await fake.stats()).accepted - before;
    await stack.close();
    if (accepted !== count || run.sent !== count) {
      throw new Error(`embedded run: ${accepted} accepted, ${run.sent} sent of ${count}`);
    }
    const paired = pair(
      round_ === 0 ? 'warm-up' : isProfiled ? 'profiled (not counted)' : `run ${round_}/${RUNS}`,
      floor,
      run,
      shares,
    );
    if (round_ > 0 && !isProfiled) rounds.push(paired);
  }
  await fake.close();
  return { fake: where, rounds, ...summarise(rounds), ...(profile ? { profile } : {}) };
}

/** BullMQ + PostgreSQL with worker processes; the fake in its own process. */
async function real(
  count: number,
  useBulk = true,
  workers = WORKERS,
  concurrency = CONCURRENCY,
  runs = RUNS,
) {
  const fake = await startFake({ recordAccepted: false }, 'own-process');
  const cluster = await startCluster({
    workers,
    fake,
    config: {
      WORKER_CONCURRENCY: String(concurrency),
      // The default queue-wide cap (50 jobs/s) would hold a bulk campaign under 25,000 msg/s:
      // "no limits", as the target says.
      QUEUE_RATE_MAX: '100000',
      USE_BULK_SMS: String(useBulk),
    },
    pipeline: REAL_PIPELINE,
    profile: args.profile!,
  });
  const rounds: Paired[] = [];
  let storeCalls: Record<string, { ms: number; calls: number }> | null = null;
  const batches = floorBatches(count, BATCH);
  for (let round_ = 0; round_ <= runs; round_++) {
    const floor = await measureFloor(
      fake.url,
      fake.apiKey,
      batches,
      workers * concurrency,
      useBulk ? 'bulk' : 'single',
    );
    await grantCredits(cluster.producer.ledger, count * 2);
    const before = (await fake.stats()).accepted;
    let cpu: ReturnType<typeof startCpuAccounting> | null = null;
    const run = await runCampaign(cluster.producer.pipeline, count, {
      from: round_ * count,
      onStart: () => {
        cpu = startCpuAccounting(() => ({
          workers: cluster.workers.map((w) => w.pid),
          fake: [fake.pid],
          producer: [process.pid],
        }));
      },
    });
    const shares = cpu!.stop();
    if (args.profile) {
      storeCalls = await cluster.profile();
      printProfile(storeCalls, run.messages);
    }
    const accepted = (await fake.stats()).accepted - before;
    if (accepted !== count || run.sent !== count) {
      throw new Error(`real-stack run: ${accepted} accepted, ${run.sent} sent of ${count}`);
    }
    const paired = pair(round_ === 0 ? 'warm-up' : `run ${round_}/${runs}`, floor, run, shares);
    if (round_ > 0) rounds.push(paired);
  }
  const peakRssMb = Math.round(cluster.peakWorkerRssMb());
  await cluster.stop();
  await fake.close();
  return {
    fake: 'own-process',
    workers,
    concurrency,
    rounds,
    peakWorkerRssMb: peakRssMb,
    ...summarise(rounds),
    ...(storeCalls ? { storeCallsLastRun: storeCalls } : {}),
  };
}

function printCpuProfile(profile: ProfileSummary) {
  say(`  CPU profile of the pipeline process (${profile.totalMs} ms sampled):`);
  table([
    ['area', 'self ms', 'share'],
    ...profile.byArea.slice(0, 12).map((a) => [a.area, a.ms, `${a.share}%`]),
  ]);
  table([
    ['function', 'where', 'self ms', 'share'],
    ...profile.topFunctions.map((f) => [f.fn, f.where, f.ms, `${f.share}%`]),
  ]);
}

/** Store and ledger calls by total wall time (calls in flight at once overlap). */
function printProfile(calls: Record<string, { ms: number; calls: number }>, messages: number) {
  const rows = Object.entries(calls).sort((a, b) => b[1].ms - a[1].ms);
  table([
    ['call', 'calls', 'total ms', 'ms/call', 'µs/message'],
    ...rows.map(([name, t]) => [
      name,
      t.calls,
      t.ms,
      round(t.ms / t.calls, 2),
      round((t.ms * 1000) / messages, 1),
    ]),
  ]);
}

async function main() {
  say(
    `throughput: ${MESSAGES.toLocaleString('en')}-message campaign, ${RUNS} runs; ${loadLine(result.atStart)}`,
  );
  const out: Record<
    string,
    Awaited<ReturnType<typeof embedded>> | Awaited<ReturnType<typeof real>>
  > = {};
  if (parts.has('embedded')) {
    say('\nembedded defaults, fake Mitto in its own process:');
    out.embeddedFakeOwnProcess = await embedded('own-process', MESSAGES);
    say('\nembedded defaults, fake Mitto in this process (as `npm run demo` runs it):');
    out.embeddedFakeInProcess = await embedded('in-process', MESSAGES);
  }
  if (parts.has('sweep')) {
    for (const [workers, concurrency] of SWEEP) {
      say(`\nsweep: real stack with ${workers} worker processes × concurrency ${concurrency}:`);
      out[`sweep${workers}x${concurrency}`] = await real(MESSAGES, true, workers, concurrency);
    }
  }
  if (parts.has('real')) {
    say(
      `\nreal stack: BullMQ + PostgreSQL, ${WORKERS} worker processes × concurrency ${CONCURRENCY}, fake in its own process:`,
    );
    out.realStack = await real(MESSAGES);
  }
  if (parts.has('single')) {
    say(
      `\nbulk vs USE_BULK_SMS=false, ${SINGLE_MESSAGES.toLocaleString('en')} messages, embedded defaults (fake in its own process):`,
    );
    out.embeddedBulk = await embedded('own-process', SINGLE_MESSAGES, true);
    out.embeddedSingle = await embedded('own-process', SINGLE_MESSAGES, false);
    say(
      `\nbulk vs USE_BULK_SMS=false, ${SINGLE_MESSAGES.toLocaleString('en')} messages, real stack:`,
    );
    out.realBulk = await real(SINGLE_MESSAGES, true);
    // One message per job and per store write: about 40 s per 10,000 on PostgreSQL, so 3 runs.
    out.realSingle = await real(SINGLE_MESSAGES, false, WORKERS, CONCURRENCY, Math.min(RUNS, 3));
  }
  say();
  table([
    ['stack', 'fake', 'floor msg/s', 'pipeline msg/s', 'pipeline/floor'],
    ...Object.entries(out).map(([name, r]) => [
      name,
      r.fake,
      r.floorMessagesPerSecond,
      r.pipelineMessagesPerSecond,
      `${(r.ratio * 100).toFixed(1)}%`,
    ]),
  ]);
  if (out.embeddedSingle && out.realSingle) {
    say(
      `\nbulk vs USE_BULK_SMS=false: ${round(out.embeddedBulk!.pipelineMessagesPerSecond / out.embeddedSingle.pipelineMessagesPerSecond, 1)}× faster embedded, ${round(out.realBulk!.pipelineMessagesPerSecond / out.realSingle.pipelineMessagesPerSecond, 1)}× on the real stack`,
    );
  }
  const swept = Object.entries(out).filter(([name]) => name.startsWith('sweep'));
  if (swept.length > 0) {
    const [best] = swept.sort(
      (a, b) => b[1].pipelineMessagesPerSecond - a[1].pipelineMessagesPerSecond,
    );
    say(`sweep: the most throughput came from ${best![0].slice(5)} (workers × concurrency)`);
  }
  const targets: Target[] = [];
  const describeCpu = (perMessage: Record<string, number>) => {
    const { micros, ceiling } = cpuCeiling(perMessage);
    const parts_ = Object.entries(perMessage)
      .filter(([group]) => group !== 'other processes')
      .sort((a, b) => b[1] - a[1])
      .map(([group, us]) => `${group} ${us}`)
      .join(', ');
    return `CPU µs per message: ${parts_} (${micros} in all): ${cpus().length} cores fully used would give at most ${ceiling.toLocaleString('en')} msg/s`;
  };
  if (out.realStack) {
    const r = out.realStack;
    targets.push({
      target: `${MESSAGES.toLocaleString('en')}-message campaign ≥ 20,000 msg/s with Redis + PostgreSQL`,
      measured: `${r.pipelineMessagesPerSecond.toLocaleString('en')} msg/s (${WORKERS} worker processes × concurrency ${CONCURRENCY})`,
      isMet: r.pipelineMessagesPerSecond >= 20_000,
      note: describeCpu(r.cpuMicrosPerMessage),
    });
  }
  for (const key of ['embeddedFakeOwnProcess', 'embeddedFakeInProcess'] as const) {
    const r = out[key];
    if (!r) continue;
    targets.push({
      target: `embedded defaults ≥ 50% of the raw HTTP floor (fake ${r.fake})`,
      measured: `${(r.ratio * 100).toFixed(1)}% (${r.pipelineMessagesPerSecond.toLocaleString('en')} of ${r.floorMessagesPerSecond.toLocaleString('en')} msg/s)`,
      isMet: r.ratio >= 0.5,
      note: `the pipeline process spent ${r.cpuMicrosPerMessage.pipeline} µs of CPU per message (its event loop and V8's helper threads) where the floor's client spent ${r.floorCpuMicrosPerMessage}: the pipeline's own work per message, on one event loop, sets the ratio (\`--profile\` shows where the time goes)`,
    });
  }
  printTargets(targets);
  const written = result.write({
    setup: {
      messages: MESSAGES,
      singleMessages: SINGLE_MESSAGES,
      runs: RUNS,
      batchSize: BATCH,
      deliveryReports: 'not included (the fake posts none; a message is final once sent)',
      timing: 'from just before enqueue to the campaign finishedAt; create not timed',
      embedded: {
        queueConcurrency: 5,
        floorConcurrency: 5,
        note: 'createStack with no DATABASE_URL/REDIS_URL: memory store and ledger, in-process queue (WORKER_CONCURRENCY 5), a fresh stack per run',
      },
      real: {
        workerProcesses: WORKERS,
        workerConcurrency: CONCURRENCY,
        floorConcurrency: WORKERS * CONCURRENCY,
        queueRateMax: 100000,
        note: 'producer in this process (createStack, role server), workers in bench/lib/worker.ts processes, fake in its own process',
      },
    },
    medians: {
      ...Object.fromEntries(
        Object.entries(out).map(([name, r]) => [
          name,
          {
            floorMessagesPerSecond: r.floorMessagesPerSecond,
            pipelineMessagesPerSecond: r.pipelineMessagesPerSecond,
            ratio: r.ratio,
            cpuMicrosPerMessage: r.cpuMicrosPerMessage,
          },
        ]),
      ),
      ...(out.embeddedSingle && out.realSingle
        ? {
            bulkOverSingle: {
              embedded: round(
                out.embeddedBulk!.pipelineMessagesPerSecond /
                  out.embeddedSingle.pipelineMessagesPerSecond,
                1,
              ),
              real: round(
                out.realBulk!.pipelineMessagesPerSecond / out.realSingle.pipelineMessagesPerSecond,
                1,
              ),
            },
          }
        : {}),
    },
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
