// A worker process of the benchmarks and the chaos suite: the worker role of
// examples/retail-server/src/stack.ts built piece by piece (PostgreSQL store and ledger on a pool
// of 10, BullMQ transport and workers, Redis limiter, Mitto client), so that the client's timeout
// can be set: the example's stack keeps the client's 30 s default, too long for a fake that hangs.
// Configured over env as JSON: BENCH_CONFIG (core config names), BENCH_SCHEMA, BENCH_PREFIX,
// BENCH_PIPELINE, BENCH_WORKERS, BENCH_CLIENT. Says `ready` over IPC.

import {
  createBullmqTransport,
  createRedisRateLimiter,
  createSmsWorkers,
  fromConfig,
} from '@smsbatch/bullmq-adapter';
import {
  createSmsPipeline,
  type Logger,
  parseConfig,
  pipelineOptionsFromConfig,
  silentLogger,
} from '@smsbatch/core';
import { createMittoClient, type MittoClientOptions } from '@smsbatch/mitto-client';
import { createPostgresLedger, createPostgresStore } from '@smsbatch/postgres-store';
import pg from 'pg';

const json = <T>(name: string, fallback: T): T => {
  const value = process.env[name];
  return value ? (JSON.parse(value) as T) : fallback;
};

const config = parseConfig(json('BENCH_CONFIG', {}));
const schema = process.env.BENCH_SCHEMA ?? 'smsbatch';
const prefix = process.env.BENCH_PREFIX ?? 'smsbatch';
if (!config.DATABASE_URL || !config.REDIS_URL || !config.MITTO_API_BASE || !config.MITTO_API_KEY) {
  throw new Error('the bench worker needs DATABASE_URL, REDIS_URL, MITTO_API_BASE, MITTO_API_KEY');
}

// BENCH_VERBOSE=1 shows what the pipeline warns about (chaos runs produce a lot of it).
const stderrLogger = (bindings: Record<string, unknown>): Logger => {
  const line =
    (level: string) =>
    (object: Record<string, unknown>, message?: string): void => {
      const err = object.err as Error | undefined;
      process.stderr.write(
        `[worker ${process.pid} ${level}] ${message ?? ''} ${JSON.stringify({ ...bindings, ...object, err: err?.message })}\n`,
      );
    };
  return {
    debug: () => {},
    info: () => {},
    warn: line('warn'),
    error: line('error'),
    child: (more) => stderrLogger({ ...bindings, ...more }),
  };
};
const logger = process.env.BENCH_VERBOSE === '1' ? stderrLogger({}) : silentLogger;

const pool = new pg.Pool({ connectionString: config.DATABASE_URL, max: 10 });
// An idle connection killed by the server is emitted on the pool; without a listener the process
// would die (the query that hits a dead connection fails and is retried by the store anyway).
pool.on('error', (error) => logger.warn({ err: error }, 'idle PostgreSQL connection lost'));
// BENCH_PROFILE=1: time every store and ledger call (wall time, concurrent calls overlap), to
// say where a slow run spends its time. Off by default: the wrapping itself costs a little.
const timings = new Map<string, { ms: number; calls: number }>();
function timed<T extends object>(name: string, target: T): T {
  if (process.env.BENCH_PROFILE !== '1') return target;
  const wrapped = { ...target } as Record<string, unknown>;
  for (const [key, value] of Object.entries(target)) {
    if (typeof value !== 'function') continue;
    wrapped[key] = async (...args: unknown[]) => {
      const started = performance.now();
      try {
        return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      } finally {
        const entry = timings.get(`${name}.${key}`) ?? { ms: 0, calls: 0 };
        entry.ms += performance.now() - started;
        entry.calls += 1;
        timings.set(`${name}.${key}`, entry);
      }
    };
  }
  return wrapped as T;
}
const store = timed('store', createPostgresStore(pool, { schema }));
const ledger = timed('ledger', createPostgresLedger(pool, { schema }));
const provider = createMittoClient({
  baseUrl: config.MITTO_API_BASE,
  apiKey: config.MITTO_API_KEY,
  logger,
  ...json<Partial<MittoClientOptions>>('BENCH_CLIENT', {}),
});
const redis = fromConfig(config);
const limiter = createRedisRateLimiter({ ...redis.limiter, prefix, logger });
const transport = createBullmqTransport({ ...redis.transport, prefix, logger });
const pipeline = createSmsPipeline({
  store,
  ledger,
  provider,
  queue: transport,
  limiter,
  logger,
  options: pipelineOptionsFromConfig(config, json('BENCH_PIPELINE', {})),
});
const workers = createSmsWorkers({
  ...redis.workers,
  prefix,
  pipeline,
  logger,
  ...json('BENCH_WORKERS', {}),
});
await workers.ready();

let closing: Promise<void> | null = null;
const close = () => {
  // Same order as the example's stack: workers first, then what they use.
  closing ??= (async () => {
    await workers.close();
    await transport.close();
    await limiter.close();
    await provider.close();
    await pool.end();
  })().finally(() => process.exit(0));
  return closing;
};
process.on('SIGTERM', () => void close());
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'stop') void close();
  if (message?.type === 'memory') process.send?.({ type: 'memory', usage: process.memoryUsage() });
  if (message?.type === 'profile') {
    const calls = Object.fromEntries(
      [...timings].map(([name, t]) => [name, { ms: Math.round(t.ms), calls: t.calls }]),
    );
    process.send?.({ type: 'profile', calls, cpu: process.cpuUsage() });
    timings.clear();
  }
});
process.on('disconnect', () => void close());
process.send?.({ type: 'ready', pid: process.pid });
