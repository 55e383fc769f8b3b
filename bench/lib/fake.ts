// One face for the fake Mitto wherever it runs: in this process (`startFakeMitto`) or in its own
// (fake-process.ts, over IPC). Benchmarks ask it the same questions either way.

import type { ChildProcess } from 'node:child_process';
import {
  type DuplicateReport,
  type FakeMittoOptions,
  type FakeMittoStats,
  startFakeMitto,
} from '@smsbatch/mitto-client/testing';
import { acceptedReferences, acceptedTimes } from './accepted.js';
import { forkCompiled, nextMessage } from './services.js';

export interface FakeHandle {
  url: string;
  apiKey: string;
  /** `in-process` or `own process (pid N)`: said in every report. */
  where: string;
  pid: number;
  stats(): Promise<FakeMittoStats>;
  duplicates(): Promise<DuplicateReport>;
  setFaults(faults: FakeMittoOptions['faults'], replace?: boolean): Promise<void>;
  flush(timeoutMs?: number): Promise<void>;
  acceptedTimes(from?: number): Promise<Record<string, number[]>>;
  references(): Promise<(string | null)[]>;
  close(): Promise<void>;
}

export async function startFake(
  options: FakeMittoOptions,
  where: 'in-process' | 'own-process',
): Promise<FakeHandle> {
  if (where === 'in-process') {
    const fake = await startFakeMitto(options);
    return {
      url: fake.url,
      apiKey: fake.apiKey,
      where: 'in-process',
      pid: process.pid,
      stats: async () => fake.stats(),
      duplicates: async () => fake.duplicates(),
      setFaults: async (faults, replace) =>
        fake.setFaults(faults ?? {}, { replace: replace ?? false }),
      flush: (timeoutMs) => fake.flushDeliveryReports({ timeoutMs: timeoutMs ?? 60_000 }),
      acceptedTimes: async (from = 0) => acceptedTimes(fake.accepted, from),
      references: async () => acceptedReferences(fake.accepted),
      close: () => fake.close(),
    };
  }
  const child = await forkCompiled(new URL('./fake-process.ts', import.meta.url), {
    env: { BENCH_FAKE_OPTIONS: JSON.stringify(options) },
  });
  const ready = await nextMessage<{ url: string; apiKey: string }>(child, 'ready');
  return ipcFake(child, ready.url, ready.apiKey);
}

function ipcFake(child: ChildProcess, url: string, apiKey: string): FakeHandle {
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (message: { type?: string; id: number; value?: unknown; error?: string }) => {
    if (message?.type !== 'response') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(message.error));
    else waiter?.resolve(message.value);
  });
  child.once('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error('the fake Mitto exited'));
    pending.clear();
  });
  const ask = <T>(op: string, args?: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ type: 'request', id, op, args });
    });
  return {
    url,
    apiKey,
    where: `own process (pid ${child.pid})`,
    pid: child.pid!,
    stats: () => ask('stats'),
    duplicates: () => ask('duplicates'),
    setFaults: (faults, replace) => ask('setFaults', { faults, replace }),
    flush: (timeoutMs) => ask('flush', { timeoutMs: timeoutMs ?? 60_000 }),
    acceptedTimes: (from) => ask('acceptedTimes', { from }),
    references: () => ask('references'),
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}
