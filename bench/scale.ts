// Scale: campaigns of 10k, 100k and 1M messages on the real stack (BullMQ + PostgreSQL, worker
// processes, fake Mitto in its own process). Per size: time per message (it must stay flat),
// peak RSS of the worker processes, Redis memory growth, PostgreSQL rows written per second.

import { parseArgs } from 'node:util';
import { grantCredits, runCampaign } from './lib/campaign.js';
import { startCluster } from './lib/cluster.js';
import { startFake } from './lib/fake.js';
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
import { type RedisFigures, settledRowCounts, startRedisSampler } from './lib/samplers.js';
import { cleanUp } from './lib/services.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    sizes: { type: 'string' },
    /** Node flags for the worker processes, e.g. --max-old-space-size=128 (a what-if). */
    'worker-node-options': { type: 'string' },
    runs: { type: 'string' },
  },
});
const quick = args.quick!;
const SIZES = args.sizes
  ? args.sizes.split(',').map(Number)
  : quick
    ? [10_000, 100_000]
    : [10_000, 100_000, 1_000_000];
const RUNS_OF = (size: number): number =>
  args.runs
    ? Number(args.runs)
    : quick
      ? size <= 10_000
        ? 3
        : 1
      : size >= 1_000_000
        ? 3
        : size >= 100_000
          ? 3
          : 5;
const WORKERS = Number(args.workers);
const CONCURRENCY = Number(args.concurrency);
// A what-if with other Node flags for the workers goes to a file of its own, beside the real one.
const result = args['worker-node-options']
  ? startResult(
      'scale-node-options',
      `scale with the worker processes run under node ${args['worker-node-options']}`,
      quick,
      `node scripts/run-ts.mjs bench/scale.ts ${process.argv.slice(2).join(' ')}`,
    )
  : startResult(
      'scale',
      'time per message, worker RSS, Redis memory and PostgreSQL rows/s at 10k, 100k and 1M messages',
      quick,
    );

interface ScaleRun {
  messages: number;
  ms: number;
  microsPerMessage: number;
  messagesPerSecond: number;
  peakWorkerRssMb: number;
  /** RSS of the workers when they became ready, before any job (largest), MB. */
  readyWorkerRssMb: number;
  /** process.memoryUsage() of the worker at its largest RSS sample so far, MB. */
  workerMemoryAtPeakMb: Record<string, number> | null;
  redis: RedisFigures;
  /** Null when not measured (quick runs count rows on the largest size only). */
  rowsWritten: number | null;
  rowsPerSecond: number | null;
  rowsPerMessage: number | null;
  hotUpdateShare: number | null;
}

async function measureSize(size: number): Promise<ScaleRun[]> {
  const fake = await startFake({ recordAccepted: false }, 'own-process');
  // Fresh worker processes per size, so each size's peak RSS is its own.
  const cluster = await startCluster({
    workers: WORKERS,
    fake,
    config: { WORKER_CONCURRENCY: String(CONCURRENCY), QUEUE_RATE_MAX: '100000' },
    sampleMemory: true,
    ...(args['worker-node-options'] ? { execArgv: args['worker-node-options'].split(' ') } : {}),
  });
  const pool = cluster.producer.pool!;
  const runs: ScaleRun[] = [];
  // Counting rows waits ~12 s per run for PostgreSQL to publish them: quick runs count them on
  // the largest size only. A fresh schema needs no wait before its first run.
  const countsRows = !quick || size === Math.max(...SIZES);
  let rowsBefore = countsRows ? await settledRowCounts(pool, cluster.schema, 0) : null;
  for (let i = 0; i < RUNS_OF(size); i++) {
    await grantCredits(cluster.producer.ledger, size * 2);
    const sampler = await startRedisSampler(cluster.redisUrl, cluster.prefix);
    const run = await runCampaign(cluster.producer.pipeline, size, {
      from: i * size,
      timeoutMs: 30 * 60_000,
    });
    const redis = await sampler.stop();
    if (run.sent !== size)
      throw new Error(`scale run: ${run.sent} of ${size} sent (${run.status})`);
    const rowsAfter = countsRows ? await settledRowCounts(pool, cluster.schema) : null;
    const rowsWritten =
      rowsAfter && rowsBefore
        ? rowsAfter.inserted - rowsBefore.inserted + rowsAfter.updated - rowsBefore.updated
        : null;
    const figures: ScaleRun = {
      messages: size,
      ms: run.ms,
      microsPerMessage: round((run.ms * 1000) / size, 1),
      messagesPerSecond: run.messagesPerSecond,
      peakWorkerRssMb: Math.round(cluster.peakWorkerRssMb()),
      readyWorkerRssMb: Math.round(Math.max(...cluster.workers.map((w) => w.readyRssMb))),
      workerMemoryAtPeakMb: cluster.memoryAtPeak(),
      redis,
      rowsWritten,
      rowsPerSecond: rowsWritten === null ? null : Math.round((rowsWritten * 1000) / run.ms),
      rowsPerMessage: rowsWritten === null ? null : round(rowsWritten / size, 2),
      hotUpdateShare:
        rowsAfter && rowsBefore
          ? round(
              (rowsAfter.hotUpdated - rowsBefore.hotUpdated) /
                Math.max(1, rowsAfter.updated - rowsBefore.updated),
              2,
            )
          : null,
    };
    rowsBefore = rowsAfter;
    say(
      `  ${size.toLocaleString('en')} messages, run ${i + 1}/${RUNS_OF(size)}: ${figures.microsPerMessage} µs/message (${figures.messagesPerSecond.toLocaleString('en')} msg/s), worker peak RSS ${figures.peakWorkerRssMb} MB (${figures.readyWorkerRssMb} MB when ready; at the peak sample ${JSON.stringify(figures.workerMemoryAtPeakMb)}), Redis +${redis.usedMemoryGrowthMb} MB (our keys ${redis.prefixPeakMb} MB), PostgreSQL ${figures.rowsPerSecond?.toLocaleString('en') ?? '(not counted)'} rows/s`,
    );
    runs.push(figures);
  }
  await cluster.stop();
  await fake.close();
  return runs;
}

/** Median of the measured values, or null when none was measured. */
const medianOf = (values: (number | null)[], digits: number): number | null => {
  const measured = values.filter((v): v is number => v !== null);
  return measured.length > 0 ? round(median(measured), digits) : null;
};

async function main() {
  say(
    `scale: ${WORKERS} worker processes × concurrency ${CONCURRENCY}; ${loadLine(result.atStart)}`,
  );
  const bySize: Record<number, ScaleRun[]> = {};
  for (const size of SIZES) bySize[size] = await measureSize(size);
  const medians = Object.fromEntries(
    Object.entries(bySize).map(([size, runs]) => [
      size,
      {
        microsPerMessage: round(median(runs.map((r) => r.microsPerMessage)), 1),
        messagesPerSecond: Math.round(median(runs.map((r) => r.messagesPerSecond))),
        peakWorkerRssMb: Math.round(median(runs.map((r) => r.peakWorkerRssMb))),
        maxPeakWorkerRssMb: Math.max(...runs.map((r) => r.peakWorkerRssMb)),
        readyWorkerRssMb: Math.max(...runs.map((r) => r.readyWorkerRssMb)),
        redisUsedMemoryGrowthMb: round(median(runs.map((r) => r.redis.usedMemoryGrowthMb)), 1),
        redisPrefixPeakMb: round(median(runs.map((r) => r.redis.prefixPeakMb)), 1),
        postgresRowsPerSecond: medianOf(
          runs.map((r) => r.rowsPerSecond),
          0,
        ),
        rowsPerMessage: medianOf(
          runs.map((r) => r.rowsPerMessage),
          2,
        ),
        postgresHotUpdateShare: medianOf(
          runs.map((r) => r.hotUpdateShare),
          2,
        ),
      },
    ]),
  );
  say();
  table([
    [
      'messages',
      'runs',
      'µs/message',
      'msg/s',
      'worker peak RSS MB',
      'RSS when ready MB',
      'Redis growth MB',
      'our Redis keys MB',
      'PG rows/s',
      'rows/message',
    ],
    ...Object.entries(medians).map(([size, m]) => [
      Number(size),
      bySize[Number(size)]!.length,
      m.microsPerMessage,
      m.messagesPerSecond,
      m.peakWorkerRssMb,
      m.readyWorkerRssMb,
      m.redisUsedMemoryGrowthMb,
      m.redisPrefixPeakMb,
      m.postgresRowsPerSecond ?? '-',
      m.rowsPerMessage ?? '-',
    ]),
  ]);
  const targets: Target[] = [];
  const largest = Math.max(...SIZES);
  const big = medians[largest]!;
  const mid = medians[100_000];
  if (mid && largest > 100_000) {
    targets.push({
      target: `time per message flat from 100k to ${largest.toLocaleString('en')} (within 25%)`,
      measured: `${big.microsPerMessage} vs ${mid.microsPerMessage} µs/message`,
      isMet: big.microsPerMessage <= mid.microsPerMessage * 1.25,
    });
  }
  targets.push({
    target: `worker RSS < 256 MB at ${largest.toLocaleString('en')} messages`,
    measured: `${big.maxPeakWorkerRssMb} MB (largest peak of any worker, any run)`,
    isMet: big.maxPeakWorkerRssMb < 256,
    ...(largest < 1_000_000 ? { note: 'no 1M run here (--quick or --sizes)' } : {}),
  });
  targets.push({
    target: `Redis < 64 MB at ${largest.toLocaleString('en')} messages`,
    measured: `our keys ${big.redisPrefixPeakMb} MB peak; instance used_memory +${big.redisUsedMemoryGrowthMb} MB`,
    isMet: big.redisPrefixPeakMb < 64 && big.redisUsedMemoryGrowthMb < 64,
    note: 'used_memory is the whole instance (other suites share it); our keys = MEMORY USAGE summed over the run prefix',
  });
  printTargets(targets);
  const written = result.write({
    setup: {
      sizes: SIZES,
      workerProcesses: WORKERS,
      workerConcurrency: CONCURRENCY,
      workerNodeOptions: args['worker-node-options'] ?? null,
      queueRateMax: 100000,
      fake: 'own process, recordAccepted false, no delivery reports',
      timing: 'enqueue → campaign finishedAt; create (recipients import) not timed',
      rows: 'pg_stat_user_tables n_tup_ins + n_tup_upd of the run schema, recipients table excluded',
      redis: 'sampled every second: INFO used_memory, and MEMORY USAGE over the prefix keys',
    },
    medians,
    targets,
    runs: bySize,
  });
  say(loadLine(written.machine.atEnd));
}

try {
  await main();
} finally {
  await cleanUp();
}
