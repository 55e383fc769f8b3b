// The raw HTTP floor: the same bulk requests the pipeline makes (same size, same message shape,
// same concurrency) posted with undici straight to the same fake Mitto, with no queue and no
// store. What the pipeline achieves is reported as a share of this, measured in the same run.

import { Pool } from 'undici';
import { SENDER, TRAFFIC_ACCOUNT } from './cluster.js';

const BULK_PATH = '/api/v1.1/Messages/sendmessagesbulk';
const SINGLE_PATH = '/api/v1.1/Messages/send';

interface WireMessage {
  trafficAccountId: string;
  destination: string;
  sms: { text: string; sender: string };
  reference: string;
}

/** Bulks shaped like the campaign's (rendered text, distinct references), built before timing. */
export function floorBatches(total: number, batchSize: number, from = 0): WireMessage[][] {
  const batches: WireMessage[][] = [];
  for (let start = 0; start < total; start += batchSize) {
    const batch: WireMessage[] = [];
    for (let i = start; i < Math.min(total, start + batchSize); i++) {
      const n = from + i;
      batch.push({
        trafficAccountId: TRAFFIC_ACCOUNT,
        destination: `+3069${String(10_000_000 + n)}`,
        sms: { text: `Hi N${n}, spring sale: 20% off everything until Sunday.`, sender: SENDER },
        reference: `floor-${n}`,
      });
    }
    batches.push(batch);
  }
  return batches;
}

export interface FloorRun {
  messagesPerSecond: number;
  ms: number;
  accepted: number;
  /** CPU of this process per message while posting (the fake's own is not in it). */
  cpuMicrosPerMessage: number;
}

/**
 * Posts every batch over `concurrency` keep-alive connections (`single`: one request per
 * message, to the single-send endpoint, as USE_BULK_SMS=false does); returns messages per second.
 */
export async function measureFloor(
  url: string,
  apiKey: string,
  batches: readonly WireMessage[][],
  concurrency: number,
  mode: 'bulk' | 'single' = 'bulk',
): Promise<FloorRun> {
  const pool = new Pool(url, { connections: concurrency, pipelining: 1 });
  const headers = { 'x-mitto-api-key': apiKey, 'content-type': 'application/json' };
  const requests =
    mode === 'bulk'
      ? batches.map((batch) => ({ path: BULK_PATH, messages: batch }))
      : batches.flat().map((message) => ({ path: SINGLE_PATH, messages: [message] }));
  let next = 0;
  let accepted = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests.length) {
          const request = requests[next++]!;
          const response = await pool.request({
            path: request.path,
            method: 'POST',
            headers,
            body: JSON.stringify(
              mode === 'bulk' ? { messages: request.messages } : request.messages[0],
            ),
          });
          const body = (await response.body.json()) as { messages: { messageId?: string }[] };
          const count = body.messages.filter((m) => m.messageId !== undefined).length;
          accepted += count;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const total = batches.reduce((sum, batch) => sum + batch.length, 0);
  if (accepted !== total) throw new Error(`floor: ${accepted} of ${total} accepted`);
  return {
    messagesPerSecond: Math.round((total * 1000) / ms),
    ms: Math.round(ms),
    accepted,
    cpuMicrosPerMessage: Math.round(((cpu.user + cpu.system) / total) * 100) / 100,
  };
}
