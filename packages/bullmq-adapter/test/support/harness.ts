// In-process plumbing for the transport and worker tests: a fresh key prefix per test, factories
// that remember what to close, and everything under the prefix deleted afterwards.

import {
  type BullmqTransport,
  type BullmqTransportOptions,
  createBullmqTransport,
  createSmsWorkers,
  type SmsWorkers,
  type SmsWorkersOptions,
} from '@smsbatch/bullmq-adapter';
import type { JobHandler, Metrics } from '@smsbatch/core';
import { afterEach, beforeEach } from 'vitest';
import { deleteKeys, REDIS_URL, randomPrefix } from './services.js';

type Extra<T> = Partial<Omit<T, 'connection' | 'prefix'>>;

export function useQueues() {
  let prefix = randomPrefix();
  let closers: (() => Promise<void>)[] = [];
  beforeEach(() => {
    prefix = randomPrefix();
  });
  afterEach(async () => {
    const pending = closers.reverse();
    closers = [];
    for (const close of pending) await close();
    await deleteKeys(prefix);
  });
  return {
    get prefix() {
      return prefix;
    },
    transport(options: Extra<BullmqTransportOptions> = {}): BullmqTransport {
      const transport = createBullmqTransport({ connection: REDIS_URL, prefix, ...options });
      closers.push(() => transport.close());
      return transport;
    },
    /**
     * Started workers (ready), closed after the test with a short timeout. The maintenance
     * schedulers' jobs (ids `repeat:…`) reach `handleJob` only with `seesSchedulers`.
     */
    async workers(
      handleJob: JobHandler,
      options: Extra<Omit<SmsWorkersOptions, 'handleJob' | 'pipeline'>> = {},
      { seesSchedulers = false } = {},
    ): Promise<SmsWorkers> {
      const workers = createSmsWorkers({
        connection: REDIS_URL,
        prefix,
        handleJob: (job) =>
          seesSchedulers || !job.id.startsWith('repeat:')
            ? handleJob(job)
            : Promise.resolve({ status: 'done' }),
        closeTimeoutMs: 500,
        ...options,
      });
      closers.push(() => workers.close());
      await workers.ready();
      return workers;
    },
  };
}

/** A promise with its resolve function, to hold a job in flight until the test lets it go. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Metrics hooks that keep what they were given. */
export function recordingMetrics() {
  const counters = new Map<string, number>();
  const gauges = new Map<string, number>();
  const key = (name: string, labels?: Readonly<Record<string, string>>) =>
    labels ? `${name}${JSON.stringify(labels)}` : name;
  const metrics: Metrics = {
    increment: (name, value = 1, labels) =>
      counters.set(key(name, labels), (counters.get(key(name, labels)) ?? 0) + value),
    observe: () => {},
    gauge: (name, value, labels) => gauges.set(key(name, labels), value),
  };
  return { metrics, counters, gauges, key };
}
