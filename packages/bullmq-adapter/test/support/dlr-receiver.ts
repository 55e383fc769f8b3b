// The delivery-report webhook of a multi-process test: the fake Mitto posts reports here and they
// go to a producer-side pipeline, as the app server would do. It lives in the test process so that
// killing a worker never loses reports. Started before the pipeline exists (the fake needs its URL
// first); reports posted before `attach` are refused, and the fake posts them again.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeliveryEvent, SmsPipeline } from '@smsbatch/core';
import { parseDeliveryReports } from '@smsbatch/mitto-client';

export interface DlrReceiver {
  readonly url: string;
  attach(pipeline: SmsPipeline): void;
  /** Reports applied or kept pending so far. */
  received(): number;
  /** Why posts were refused (the fake posts them again). */
  errors(): readonly string[];
  close(): Promise<void>;
}

export async function startDlrReceiver(): Promise<DlrReceiver> {
  let pipeline: SmsPipeline | null = null;
  let received = 0;
  const errors: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const batch = parseDeliveryReports(Buffer.concat(chunks).toString('utf8'));
      const events: DeliveryEvent[] = batch.events.map(({ index: _i, raw: _r, ...event }) => event);
      if (!pipeline) {
        res.writeHead(503).end();
        return;
      }
      pipeline
        .receiveDeliveryReports(
          events,
          batch.events.map((event) => event.raw),
        )
        .then(() => {
          received += events.length;
          res.writeHead(202).end();
        })
        .catch((error: unknown) => {
          errors.push(error instanceof Error ? error.message : String(error));
          // A 5xx makes the fake post the reports again, as Mitto would.
          res.writeHead(503).end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/dlr`,
    attach(target) {
      pipeline = target;
    },
    received: () => received,
    errors: () => errors,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
