// Benchmark: 100,000 messages in bulks of 500 to the fake Mitto on loopback, through the client
// and through plain undici with the same concurrency (JSON encode and decode included), several
// interleaved runs, medians, and the client's overhead. `--quick` for a CI smoke run. On a shared
// machine throughput drifts between rounds, so the headline overhead is the median of per-round
// ratios; the ratio of medians and the CPU per message are written beside it.

import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OutboundSms } from '@smsbatch/core';
import { createMittoClient } from '@smsbatch/mitto-client';
import { Pool } from 'undici';

const quick = process.argv.includes('--quick');
const TOTAL = quick ? 20_000 : 100_000;
const RUNS = quick ? 3 : 15;
const WARMUP_ROUNDS = quick ? 1 : 3;
const BATCH = 500;
const CONCURRENCY = 8;
const API_KEY = 'bench-key';
const resultPath = fileURLToPath(
  new URL('../../../bench/results/mitto-client.json', import.meta.url),
);

interface RunResult {
  messagesPerSecond: number;
  /** Main-thread CPU per message (µs): what the sending side itself costs. */
  cpuMicrosPerMessage: number;
}

function makeBatches(): OutboundSms[][] {
  const batches: OutboundSms[][] = [];
  for (let start = 0; start < TOTAL; start += BATCH) {
    const batch: OutboundSms[] = [];
    for (let i = start; i < Math.min(TOTAL, start + BATCH); i++) {
      batch.push({
        reference: `bench-campaign-${i}`,
        destination: `+3069${String(10_000_000 + i)}`,
        text: 'Spring sale: 20% off everything until Sunday. Reply STOP to opt out https://s.example/u/abc',
        sender: 'Shop',
        trafficAccountId: 'ta-bench',
      });
    }
    batches.push(batch);
  }
  return batches;
}

async function timed(batches: OutboundSms[][], send: (batch: OutboundSms[]) => Promise<number>) {
  let next = 0;
  let accepted = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const lane = async (): Promise<void> => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      // Read the count first: `accepted += await ...` would add to a stale total.
      const count = await send(batch);
      accepted += count;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  if (accepted !== TOTAL) {
    throw new Error(`expected ${TOTAL} accepted messages, got ${accepted}`);
  }
  return {
    messagesPerSecond: Math.round(TOTAL / seconds),
    cpuMicrosPerMessage: Number(((cpu.user + cpu.system) / TOTAL).toFixed(2)),
  } satisfies RunResult;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  const fake = fork(fileURLToPath(new URL('./fake-process.ts', import.meta.url)), [], {
    execArgv: ['--conditions=@smsbatch/source', '--import', 'tsx'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    fake.once('error', reject);
    fake.once('exit', (code) => reject(new Error(`the fake Mitto exited (${code})`)));
    fake.once('message', (message) => resolve((message as { url: string }).url));
  });
  const batches = makeBatches();

  // Plain undici: the floor. Same wire body, same pool shape, JSON decode of the answer.
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
  const headers = { 'x-mitto-api-key': API_KEY, 'content-type': 'application/json' };
  const raw = async (batch: OutboundSms[]): Promise<number> => {
    const body = JSON.stringify({
      messages: batch.map((m) => ({
        trafficAccountId: m.trafficAccountId,
        destination: m.destination,
        sms: { text: m.text, sender: m.sender },
        reference: m.reference,
      })),
    });
    const response = await pool.request({
      path: '/api/v1.1/Messages/sendmessagesbulk',
      method: 'POST',
      headers,
      body,
    });
    const json = (await response.body.json()) as { messages: unknown[] };
    return json.messages.length;
  };

  // The floor under the floor: undici's dispatch() with a bare handler, no stream, no checks. The
  // client is built on dispatch(), so this is the fairest comparison of what it adds.
  const rawDispatch = (batch: OutboundSms[]): Promise<number> => {
    const body = JSON.stringify({
      messages: batch.map((m) => ({
        trafficAccountId: m.trafficAccountId,
        destination: m.destination,
        sms: { text: m.text, sender: m.sender },
        reference: m.reference,
      })),
    });
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      pool.dispatch(
        { path: '/api/v1.1/Messages/sendmessagesbulk', method: 'POST', headers, body },
        {
          onConnect() {},
          onHeaders() {
            return true;
          },
          onData(chunk: Buffer) {
            chunks.push(chunk);
            return true;
          },
          onComplete() {
            const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              messages: unknown[];
            };
            resolve(json.messages.length);
          },
          onError: reject,
        },
      );
    });
  };

  const client = createMittoClient({
    baseUrl: url,
    apiKey: API_KEY,
    connections: CONCURRENCY,
    maxRetries: 0,
  });
  const viaClient = async (batch: OutboundSms[]): Promise<number> => {
    const result = await client.sendBulk(batch);
    let accepted = 0;
    for (const outcome of result.results) {
      accepted += outcome.status === 'accepted' ? 1 : 0;
    }
    return accepted;
  };

  const lanes = [
    { name: 'raw request()', send: raw, runs: [] as RunResult[] },
    { name: 'raw dispatch()', send: rawDispatch, runs: [] as RunResult[] },
    { name: 'client', send: viaClient, runs: [] as RunResult[] },
  ];
  // Warm every path (JIT, connections) before measuring.
  for (let round = 0; round < WARMUP_ROUNDS; round++) {
    for (const lane of lanes) {
      await timed(batches, lane.send);
    }
  }
  for (let run = 0; run < RUNS; run++) {
    // Rotate the order so drift (thermal, GC, a noisy neighbour) hits every lane alike.
    for (let k = 0; k < lanes.length; k++) {
      const lane = lanes[(run + k) % lanes.length]!;
      lane.runs.push(await timed(batches, lane.send));
    }
    console.log(
      `run ${run + 1}/${RUNS}: ${lanes.map((l) => `${l.name} ${l.runs.at(-1)!.messagesPerSecond}`).join(', ')} msg/s`,
    );
  }

  const summary = (runs: RunResult[]) => ({
    medianMessagesPerSecond: median(runs.map((r) => r.messagesPerSecond)),
    medianCpuMicrosPerMessage: median(runs.map((r) => r.cpuMicrosPerMessage)),
    runs,
  });
  const [rawLane, dispatchLane, clientLane] = lanes.map((lane) => summary(lane.runs)) as [
    ReturnType<typeof summary>,
    ReturnType<typeof summary>,
    ReturnType<typeof summary>,
  ];
  const overhead = (
    base: ReturnType<typeof summary>,
  ): { throughputPct: number; cpuPct: number; pairedThroughputPct?: number } => ({
    throughputPct: Number(
      (
        ((base.medianMessagesPerSecond - clientLane.medianMessagesPerSecond) /
          base.medianMessagesPerSecond) *
        100
      ).toFixed(1),
    ),
    cpuPct: Number(
      (
        ((clientLane.medianCpuMicrosPerMessage - base.medianCpuMicrosPerMessage) /
          base.medianCpuMicrosPerMessage) *
        100
      ).toFixed(1),
    ),
  });
  const overRequest = overhead(rawLane);
  const overDispatch = overhead(dispatchLane);
  // Lanes of one round run back to back, so their ratio survives load that drifts between
  // rounds (other processes on a shared machine) better than a ratio of medians.
  const pairedPct = (base: RunResult[]) =>
    Number(
      (
        median(
          base.map(
            (run, i) =>
              (run.messagesPerSecond - clientLane.runs[i]!.messagesPerSecond) /
              run.messagesPerSecond,
          ),
        ) * 100
      ).toFixed(1),
    );
  Object.assign(overRequest, { pairedThroughputPct: pairedPct(rawLane.runs) });
  Object.assign(overDispatch, { pairedThroughputPct: pairedPct(dispatchLane.runs) });

  const report = {
    benchmark: 'mitto-client sendBulk vs plain undici, fake Mitto on loopback (separate process)',
    date: new Date().toISOString(),
    node: process.version,
    quick,
    messages: TOTAL,
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    runs: RUNS,
    raw: rawLane,
    rawDispatch: dispatchLane,
    client: clientLane,
    /** Positive: the client is slower (throughput) or costs more CPU per message than the baseline. */
    overheadVsRawRequest: overRequest,
    overheadVsRawDispatch: overDispatch,
    target: 'client adds < 10% over raw (throughput)',
    /** Judged on the paired (per-round) ratios against both baselines: see `pairedPct` above. */
    meetsTarget:
      (overRequest.pairedThroughputPct ?? 100) < 10 &&
      (overDispatch.pairedThroughputPct ?? 100) < 10,
  };
  mkdirSync(dirname(resultPath), { recursive: true });
  writeFileSync(resultPath, `${JSON.stringify(report, null, 2)}\n`);

  console.log('');
  console.log(
    `messages/s (median of ${RUNS}): raw request() ${rawLane.medianMessagesPerSecond}, raw dispatch() ${dispatchLane.medianMessagesPerSecond}, client ${clientLane.medianMessagesPerSecond}`,
  );
  console.log(
    `client overhead vs raw request(): ${overRequest.throughputPct}% throughput (median of per-round ratios ${overRequest.pairedThroughputPct}%), ${overRequest.cpuPct}% CPU/message`,
  );
  console.log(
    `client overhead vs raw dispatch(): ${overDispatch.throughputPct}% throughput (median of per-round ratios ${overDispatch.pairedThroughputPct}%), ${overDispatch.cpuPct}% CPU/message`,
  );
  console.log(`written to ${resultPath}`);

  await client.close();
  await pool.close();
  fake.removeAllListeners('exit');
  const exited = new Promise((resolve) => fake.once('exit', resolve));
  fake.send({ type: 'stop' });
  await exited;
}

await main();
