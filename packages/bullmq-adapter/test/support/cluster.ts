// A deployment in miniature for multi-process tests: a migrated PostgreSQL schema, a fake Mitto,
// N worker processes (worker-process.ts) and a producer-side pipeline in the test process that
// creates and enqueues campaigns and receives delivery reports. `stop()` removes all of it.

import { type PipelineOptions, parseConfig, type SmsConfigInput } from '@smsbatch/core';
import {
  type FakeMitto,
  type FakeMittoOptions,
  startFakeMitto,
} from '@smsbatch/mitto-client/testing';
import { type DlrReceiver, startDlrReceiver } from './dlr-receiver.js';
import { createStderrLogger } from './logger.js';
import {
  createTestDatabase,
  DATABASE_URL,
  deleteKeys,
  REDIS_URL,
  randomPrefix,
} from './services.js';
import { createTestStack, type TestStack } from './stack.js';
import {
  startWorkerProcess,
  startWorkerProcesses,
  type WorkerProcess,
} from './worker-processes.js';

export interface ClusterSettings {
  workers: number;
  /** Core config variables for every process (rate limits, batch size, concurrency, ...). */
  env?: Record<string, string>;
  pipeline?: PipelineOptions;
  /** createSmsWorkers options for the worker processes (numbers only). */
  workerOptions?: Record<string, unknown>;
  fake?: FakeMittoOptions;
  /** Have the fake post delivery reports to the test process. */
  deliveryReports?: boolean;
  redisUrl?: string;
}

export interface Cluster {
  /** Key prefix of the queues and the limiter. */
  prefix: string;
  redisUrl: string;
  fake: FakeMitto;
  producer: TestStack;
  workers: WorkerProcess[];
  dlr: DlrReceiver | null;
  /** Starts one more worker process like the others. */
  addWorker(): Promise<WorkerProcess>;
  /** The workers' stderr, for a failing test's report. */
  logs(): string;
  stop(): Promise<void>;
}

export const OWNER = 'owner-1';
export const GRANTED = 10_000_000;

export async function startCluster(settings: ClusterSettings): Promise<Cluster> {
  const redisUrl = settings.redisUrl ?? REDIS_URL;
  const prefix = randomPrefix();
  const db = await createTestDatabase();
  const dlr = settings.deliveryReports ? await startDlrReceiver() : null;
  const fake = await startFakeMitto({
    ...settings.fake,
    ...(dlr ? { deliveryReports: { url: dlr.url, delayMs: 50 } } : {}),
  });
  const configEnv: Record<string, string> = {
    REDIS_URL: redisUrl,
    DATABASE_URL,
    MITTO_API_BASE: fake.url,
    MITTO_API_KEY: fake.apiKey,
    ...settings.env,
  };
  const producer = await createTestStack({
    config: parseConfig(configEnv as SmsConfigInput),
    schema: db.schema,
    prefix,
    pipeline: settings.pipeline,
    logger: createStderrLogger('error', { role: 'producer' }),
  });
  dlr?.attach(producer.pipeline);
  await producer.ledger.credit(OWNER, GRANTED, 'grant');
  const workerEnv = {
    ...configEnv,
    FIXTURE_SCHEMA: db.schema,
    FIXTURE_PREFIX: prefix,
    FIXTURE_PIPELINE: JSON.stringify(settings.pipeline ?? {}),
    FIXTURE_WORKERS: JSON.stringify(settings.workerOptions ?? {}),
  };
  const workers = await startWorkerProcesses(settings.workers, workerEnv);
  return {
    prefix,
    redisUrl,
    fake,
    producer,
    workers,
    dlr,
    async addWorker() {
      const worker = await startWorkerProcess(workerEnv);
      workers.push(worker);
      return worker;
    },
    logs: () => workers.map((w) => `--- worker ${w.pid}\n${w.output()}`).join('\n'),
    async stop() {
      await Promise.all(workers.map((worker) => worker.stop()));
      await producer.close();
      await fake.close();
      await dlr?.close();
      await deleteKeys(prefix, redisUrl);
      await db.drop();
    },
  };
}
