// Builds smsbatch from the config of design.md: PostgreSQL when DATABASE_URL is set (else the
// in-memory store and ledger), BullMQ when REDIS_URL is set (else the in-process queue and
// limiter), and a fake Mitto on loopback when MITTO_API_BASE is unset. The server, the worker,
// the demo and the benchmarks all start from here.

import {
  type BullmqTransport,
  createBullmqTransport,
  createRedisRateLimiter,
  createSmsWorkers,
  fromConfig,
  QUEUE_NAMES,
  type QueueCounts,
} from '@smsbatch/bullmq-adapter';
import {
  type CampaignStore,
  type CreditLedger,
  createMemoryLedger,
  createMemoryQueue,
  createMemoryRateLimiter,
  createMemoryStore,
  createSmsPipeline,
  type JobQueue,
  type Logger,
  type MemoryQueue,
  type Metrics,
  type OwnerDirectory,
  type PipelineOptions,
  pipelineOptionsFromConfig,
  type RateLimiter,
  rateLimitsFromConfig,
  type SmsConfig,
  type SmsPipeline,
  type SubscriptionGuard,
  type SuppressionList,
  silentLogger,
} from '@smsbatch/core';
import { createMittoClient } from '@smsbatch/mitto-client';
import { type FakeMitto, startFakeMitto } from '@smsbatch/mitto-client/testing';
import { createPostgresLedger, createPostgresStore, migrate } from '@smsbatch/postgres-store';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

export interface StackOptions {
  config: SmsConfig;
  /** `server`: takes requests, runs no jobs (another process does). `worker`: jobs only. */
  role: 'all' | 'server' | 'worker';
  /** Where the fake Mitto posts delivery reports (the app's webhook route). */
  webhookUrl?: string;
  owners?: OwnerDirectory;
  subscription?: SubscriptionGuard;
  suppression?: SuppressionList;
  logger?: Logger;
  metrics?: Metrics;
  /** PostgreSQL schema of the store and ledger. Default `smsbatch`. */
  schema?: string;
  /** Tunables beyond the env config (windows, leases, ...). */
  pipeline?: PipelineOptions;
  /** BullMQ key prefix (REDIS_URL only). Default `smsbatch`. */
  prefix?: string;
  /** BullMQ worker settings beyond the env config (REDIS_URL only): reconcile period, locks. */
  workers?: { reconcileEveryMs?: number; lockDuration?: number; stalledInterval?: number };
  /**
   * Runs once the store is ready and before any job does: the app sets up what its ports need
   * (the example creates its owners' tables on the same pool).
   */
  prepare?: (pool: pg.Pool | null) => Promise<void>;
  /** Fake Mitto options when it is started here (latency, faults, report delays). */
  fake?: Parameters<typeof startFakeMitto>[0];
}

export interface SmsStack {
  pipeline: SmsPipeline;
  store: CampaignStore;
  ledger: CreditLedger;
  limiter: RateLimiter;
  /** The fake Mitto this process started, if it started one. */
  fake: FakeMitto | null;
  /** What runs behind the ports, for logs and the status page. */
  adapters: { store: string; queue: string; provider: string };
  /** PostgreSQL pool when the store is on PostgreSQL (the example keeps its owners there). */
  pool: pg.Pool | null;
  /** Jobs per queue and state (BullMQ only; `null` with the in-process queue). */
  queueCounts(): Promise<QueueCounts | null>;
  /** The BullMQ queues, for a dashboard (empty with the in-process queue). */
  queues: Queue[];
  close(): Promise<void>;
}

/** How often the in-process reconciler and status sweep run. */
const RECONCILE_EVERY_MS = 5_000;
const SWEEP_EVERY_MS = 60_000;

export async function createStack(options: StackOptions): Promise<SmsStack> {
  const { config } = options;
  const logger = options.logger ?? silentLogger;
  const closers: (() => Promise<void>)[] = [];

  let store: CampaignStore;
  let ledger: CreditLedger;
  let pool: pg.Pool | null = null;
  if (config.DATABASE_URL) {
    pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 10 });
    const schema = options.schema ?? 'smsbatch';
    await migrate(pool, { schema });
    store = createPostgresStore(pool, { schema });
    ledger = createPostgresLedger(pool, { schema });
    const ownPool = pool;
    closers.push(() => ownPool.end());
  } else {
    store = createMemoryStore();
    ledger = createMemoryLedger();
  }

  await options.prepare?.(pool);

  let fake: FakeMitto | null = null;
  let baseUrl = config.MITTO_API_BASE;
  let apiKey = config.MITTO_API_KEY;
  if (!baseUrl) {
    fake = await startFakeMitto({
      ...options.fake,
      ...(options.webhookUrl
        ? {
            deliveryReports: {
              url: options.webhookUrl,
              headers: config.WEBHOOK_SECRET ? { 'X-Webhook-Token': config.WEBHOOK_SECRET } : {},
              ...options.fake?.deliveryReports,
            },
          }
        : {}),
    });
    baseUrl = fake.url;
    apiKey = fake.apiKey;
    const ownFake = fake;
    closers.push(() => ownFake.close());
  }
  if (!apiKey) throw new Error('MITTO_API_KEY is required when MITTO_API_BASE is set');
  const provider = createMittoClient({ baseUrl, apiKey, logger });
  closers.push(() => provider.close());

  // REDIS_URL: BullMQ queues and a limiter shared by every process; otherwise both in-process.
  let limiter: RateLimiter;
  let queue: JobQueue;
  let memoryQueue: MemoryQueue | null = null;
  let transport: BullmqTransport | null = null;
  const prefix = options.prefix ?? 'smsbatch';
  const queues: Queue[] = [];
  if (config.REDIS_URL) {
    const redis = fromConfig(config);
    if (options.role !== 'worker') {
      // The dashboard's own view of the queues, on one connection of its own.
      const dashboard = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
      queues.push(...QUEUE_NAMES.map((name) => new Queue(name, { connection: dashboard, prefix })));
      closers.unshift(async () => {
        await Promise.all(queues.map((queue) => queue.close()));
        dashboard.disconnect();
      });
    }
    const redisLimiter = createRedisRateLimiter({ ...redis.limiter, prefix, logger });
    transport = createBullmqTransport({ ...redis.transport, prefix, logger });
    limiter = redisLimiter;
    queue = transport;
    closers.unshift(() => redisLimiter.close());
  } else {
    limiter = createMemoryRateLimiter({ limits: rateLimitsFromConfig(config) });
    memoryQueue = createMemoryQueue({
      concurrency: config.WORKER_CONCURRENCY,
      laneConcurrency: { test: 2 },
      logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    queue = memoryQueue;
  }
  const pipeline = createSmsPipeline({
    store,
    ledger,
    provider,
    queue,
    limiter,
    ...(options.owners ? { owners: options.owners } : {}),
    ...(options.subscription ? { subscription: options.subscription } : {}),
    ...(options.suppression ? { suppression: options.suppression } : {}),
    logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    options: pipelineOptionsFromConfig(config, options.pipeline),
  });
  const ownTransport = transport;
  if (ownTransport) closers.unshift(() => ownTransport.close());
  const ownMemoryQueue = memoryQueue;
  if (ownMemoryQueue) closers.unshift(() => ownMemoryQueue.close());

  if (options.role !== 'server' && config.REDIS_URL) {
    const workers = createSmsWorkers({
      ...fromConfig(config).workers,
      prefix,
      pipeline,
      logger,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...options.workers,
    });
    await workers.ready();
    // Workers first: they finish or release their jobs before the queues and pools close.
    closers.unshift(() => workers.close());
  } else if (options.role !== 'server' && ownMemoryQueue) {
    ownMemoryQueue.process(pipeline.handleJob);
    const every = (ms: number, task: () => Promise<unknown>, what: string) => {
      const timer = setInterval(() => {
        task().catch((error) => logger.error({ err: error }, `${what} failed`));
      }, ms);
      timer.unref();
      closers.unshift(async () => clearInterval(timer));
    };
    every(RECONCILE_EVERY_MS, pipeline.reconcile, 'reconcile');
    every(SWEEP_EVERY_MS, pipeline.sweepStatuses, 'status sweep');
  }

  return {
    pipeline,
    store,
    ledger,
    limiter,
    fake,
    pool,
    adapters: {
      store: config.DATABASE_URL ? 'postgres' : 'memory',
      queue: config.REDIS_URL ? `BullMQ (prefix ${prefix})` : 'in-process',
      provider: fake ? `fake Mitto at ${fake.url}` : `Mitto at ${baseUrl}`,
    },
    queueCounts: async () => (transport ? transport.getQueueCounts() : null),
    queues,
    async close() {
      for (const close of closers) await close();
    },
  };
}
