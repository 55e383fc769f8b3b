// The real stack in miniature, as the benchmarks and the chaos suite run it: a migrated schema of
// its own, a producer in this process (the example's `createStack` in its `server` role: it
// creates and enqueues, and takes delivery reports), N worker processes (worker.ts) against a fake
// Mitto, and samplers for the workers' memory. `stop()` gives everything back.

import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type PipelineOptions, parseConfig, type Recipient } from '@smsbatch/core';
import { createMittoClient, parseDeliveryReports } from '@smsbatch/mitto-client';
import { createStack, type SmsStack } from '../../examples/retail-server/src/stack.js';
import type { FakeHandle } from './fake.js';
import {
  DATABASE_URL,
  databaseUrlFor,
  deleteKeys,
  dropSchema,
  forkCompiled,
  nextMessage,
  onCleanup,
  REDIS_URL,
  uniqueName,
} from './services.js';

export const OWNER = 'bench-owner';
export const SENDER = 'Shop';
export const TRAFFIC_ACCOUNT = 'ta-bench';
export const WEBHOOK_SECRET = 'bench-webhook-secret';
export const TEXT = 'Hi {{name}}, spring sale: 20% off everything until Sunday.';

/** Distinct valid Greek mobile numbers, generated as read: memory stays flat at any size. */
export async function* audience(count: number, from = 0): AsyncGenerator<Recipient> {
  for (let i = 0; i < count; i++) {
    const n = from + i;
    yield { phone: `+3069${String(10_000_000 + n)}`, contactId: `c${n}`, vars: { name: `N${n}` } };
  }
}

export interface ClusterOptions {
  workers: number;
  fake: FakeHandle;
  /** Core config variables for the producer and every worker (WORKER_CONCURRENCY, ...). */
  config?: Record<string, string>;
  pipeline?: PipelineOptions;
  /** createSmsWorkers options of the worker processes. */
  workerOptions?: Record<string, unknown>;
  /** Mitto client options of the worker processes (timeoutMs, maxRetries). */
  client?: Record<string, unknown>;
  redisUrl?: string;
  /** Pass the workers' warnings through (BENCH_VERBOSE=1). */
  verbose?: boolean;
  /** Time the workers' store and ledger calls (BENCH_PROFILE=1; read with `profile()`). */
  profile?: boolean;
  /** Node flags for the worker processes (e.g. --cpu-prof). */
  execArgv?: string[];
  /** Ask the workers for process.memoryUsage() every second (see `memoryAtPeak`). */
  sampleMemory?: boolean;
  /** Join a schema and prefix someone else owns (and cleans up) instead of making new ones. */
  reuse?: { schema: string; prefix: string };
}

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** RSS once it said ready (modules loaded, nothing run yet), MB. */
  readyRssMb: number;
  /** Peak RSS seen in /proc (VmHWM) while it ran, MB. */
  peakRssMb(): number;
}

export interface Cluster {
  schema: string;
  prefix: string;
  applicationName: string;
  redisUrl: string;
  producer: SmsStack;
  workers: WorkerProcess[];
  addWorker(): Promise<WorkerProcess>;
  /** Stops one worker: SIGKILL (a crash) or a graceful stop. */
  stopWorker(worker: WorkerProcess, how: 'kill' | 'graceful'): Promise<void>;
  /** The largest peak RSS of any worker process so far (dead ones included), MB. */
  peakWorkerRssMb(): number;
  /** The worker's own memory breakdown at its largest RSS sample, MB (`sampleMemory` only). */
  memoryAtPeak(): Record<string, number> | null;
  /** Store and ledger call times of every live worker since the last call (`profile` only). */
  profile(): Promise<Record<string, { ms: number; calls: number }>>;
  stop(): Promise<void>;
}

/** VmHWM and VmRSS of a live process, in MB (null once it is gone). */
export function procMemory(pid: number): { hwmMb: number; rssMb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { hwmMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
  } catch {
    return null;
  }
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const schema = options.reuse?.schema ?? uniqueName('s');
  const prefix = options.reuse?.prefix ?? uniqueName('q');
  const isOwned = options.reuse === undefined;
  const applicationName = schema;
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const databaseUrl = databaseUrlFor(applicationName);
  const configEnv: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    MITTO_API_BASE: options.fake.url,
    MITTO_API_KEY: options.fake.apiKey,
    MITTO_SENDER: SENDER,
    MITTO_TRAFFIC_ACCOUNT_ID: TRAFFIC_ACCOUNT,
    ...options.config,
  };
  // Until the producer exists, a failure leaves only the schema (createStack migrates it first).
  if (isOwned) onCleanup(() => dropSchema(schema, DATABASE_URL));
  const producer = await createStack({
    config: parseConfig(configEnv),
    role: 'server',
    schema,
    prefix,
    ...(options.pipeline ? { pipeline: options.pipeline } : {}),
  });
  // The example's stack leaves its pool without an 'error' listener: an idle connection killed
  // by the server would crash this process (reported; see docs/testing.md).
  producer.pool?.on('error', () => {});

  const peaks = new Map<number, number>();
  let memoryPeak: NodeJS.MemoryUsage | null = null;
  const sampler = setInterval(() => {
    for (const worker of workers) {
      const memory = procMemory(worker.pid);
      if (memory) peaks.set(worker.pid, Math.max(peaks.get(worker.pid) ?? 0, memory.hwmMb));
    }
  }, 250);
  sampler.unref();
  // The breakdown (heap, external, buffers) says whether a high RSS is live data or GC slack.
  const memorySampler = options.sampleMemory
    ? setInterval(() => {
        for (const worker of workers) {
          nextMessage<{ usage: NodeJS.MemoryUsage }>(worker.child, 'memory', 5_000).then(
            ({ usage }) => {
              if (!memoryPeak || usage.rss > memoryPeak.rss) memoryPeak = usage;
            },
            () => {},
          );
          worker.child.send({ type: 'memory' });
        }
      }, 1_000)
    : null;
  memorySampler?.unref();

  const workers: WorkerProcess[] = [];
  const workerEnv = {
    BENCH_CONFIG: JSON.stringify(configEnv),
    BENCH_SCHEMA: schema,
    BENCH_PREFIX: prefix,
    BENCH_PIPELINE: JSON.stringify(options.pipeline ?? {}),
    BENCH_WORKERS: JSON.stringify(options.workerOptions ?? {}),
    BENCH_CLIENT: JSON.stringify(options.client ?? {}),
    BENCH_VERBOSE: options.verbose ? '1' : '0',
    BENCH_PROFILE: options.profile ? '1' : '0',
  };
  const addWorker = async (): Promise<WorkerProcess> => {
    const child = await forkCompiled(new URL('./worker.ts', import.meta.url), {
      env: workerEnv,
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
    });
    await nextMessage(child, 'ready');
    const pid = child.pid!;
    const memory = procMemory(pid);
    const worker: WorkerProcess = {
      child,
      pid,
      readyRssMb: memory?.rssMb ?? 0,
      peakRssMb: () => peaks.get(pid) ?? 0,
    };
    if (memory) peaks.set(pid, memory.hwmMb);
    workers.push(worker);
    return worker;
  };
  const stopWorker = async (worker: WorkerProcess, how: 'kill' | 'graceful') => {
    const memory = procMemory(worker.pid);
    if (memory) peaks.set(worker.pid, Math.max(peaks.get(worker.pid) ?? 0, memory.hwmMb));
    workers.splice(workers.indexOf(worker), 1);
    if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
    const exited = new Promise((resolve) => worker.child.once('exit', resolve));
    if (how === 'kill') worker.child.kill('SIGKILL');
    else worker.child.send({ type: 'stop' });
    await exited;
  };

  let stopping: Promise<void> | null = null;
  const cluster: Cluster = {
    schema,
    prefix,
    applicationName,
    redisUrl,
    producer,
    workers,
    addWorker,
    stopWorker,
    peakWorkerRssMb: () => {
      for (const worker of workers) {
        const memory = procMemory(worker.pid);
        if (memory) peaks.set(worker.pid, Math.max(peaks.get(worker.pid) ?? 0, memory.hwmMb));
      }
      return Math.max(0, ...peaks.values());
    },
    memoryAtPeak: () =>
      memoryPeak
        ? Object.fromEntries(
            Object.entries(memoryPeak).map(([key, bytes]) => [key, Math.round(bytes / 1048576)]),
          )
        : null,
    async profile() {
      const totals: Record<string, { ms: number; calls: number }> = {};
      for (const worker of workers) {
        const answer = nextMessage<{ calls: typeof totals }>(worker.child, 'profile');
        worker.child.send({ type: 'profile' });
        for (const [name, t] of Object.entries((await answer).calls)) {
          const total = totals[name] ?? { ms: 0, calls: 0 };
          totals[name] = { ms: total.ms + t.ms, calls: total.calls + t.calls };
        }
      }
      return totals;
    },
    stop() {
      stopping ??= (async () => {
        clearInterval(sampler);
        if (memorySampler) clearInterval(memorySampler);
        await Promise.all([...workers].map((worker) => stopWorker(worker, 'graceful')));
        await producer.close();
        if (isOwned) {
          await deleteKeys(prefix, redisUrl);
          await dropSchema(schema, DATABASE_URL);
        }
      })();
      return stopping;
    },
  };
  onCleanup(() => cluster.stop());
  await Promise.all(Array.from({ length: options.workers }, addWorker));
  return cluster;
}

/** A DLR webhook on loopback in this process, handing the reports to the producer's pipeline. */
export async function startWebhook(
  deliver: (events: ReturnType<typeof parseDeliveryReports>['events']) => Promise<unknown>,
): Promise<{ url: string; received(): number; failures(): number; close(): Promise<void> }> {
  let received = 0;
  let failures = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.headers['x-webhook-token'] !== WEBHOOK_SECRET) {
        res.writeHead(401).end();
        return;
      }
      try {
        const { events } = parseDeliveryReports(Buffer.concat(chunks).toString('utf8'));
        deliver(events).then(
          () => {
            received += events.length;
            res.writeHead(202).end();
          },
          () => {
            // The fake retries a batch that got no 2xx, as Mitto does.
            failures++;
            res.writeHead(500).end();
          },
        );
      } catch {
        failures++;
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  onCleanup(close);
  return {
    url: `http://127.0.0.1:${port}/webhooks/mitto/dlr`,
    received: () => received,
    failures: () => failures,
    close,
  };
}

/** An idle Mitto client, for code paths that want a provider but must send nothing. */
export const idleProvider = () =>
  createMittoClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'sends-nothing' });

export { DATABASE_URL };
