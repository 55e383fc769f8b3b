// The fake's delivery network: every accepted message reaches a final status some time later,
// and when a webhook is configured the reports are POSTed to it in JSON batches, with the
// misbehaviour real DLRs show (failures, duplicates, a late `Sent` after the final status) and
// retries while the webhook does not answer 2xx.

import { Agent, request } from 'undici';
import type { AcceptedMessage, FakeMittoStats } from './fake-engine.js';
import { chance, createRandom, type Random } from './random.js';

export interface FakeDeliveryReportOptions {
  /** Where to POST reports. Without it, statuses still progress (lookup sees them), nothing is posted. */
  url?: string;
  /** Sent with every POST, e.g. `{ 'X-Webhook-Token': 'secret' }`. */
  headers?: Record<string, string>;
  /** Reports per POST. Default 100. */
  batchSize?: number;
  /** Time from acceptance to the report (ms). Default 10. */
  delayMs?: number;
  /** Share of messages that end `Failed` or `Undelivered`. Default 0. */
  failureRate?: number;
  /** Share of final reports sent twice. Default 0. */
  duplicateRate?: number;
  /** Share of messages that get a late `Sent` after their final report. Default 0. */
  lateSentRate?: number;
  /** Post a `Sent` report before the final one. Default false. */
  reportSent?: boolean;
  /** POSTs in flight at once. Default 4. */
  concurrency?: number;
  /** Attempts per batch before giving up. Default 10. */
  maxAttempts?: number;
  /** Wait before the first retry (ms), doubled per attempt up to 5 s. Default 50. */
  retryDelayMs?: number;
}

export interface WebhookReport {
  messageId: string;
  deliveryStatus: string;
  reference: string | null;
  description: string | null;
  updatedAt: string;
}

interface Pending {
  due: number;
  message: AcceptedMessage;
  status: string;
  description: string | null;
  /** The final status, as opposed to an interim or late `Sent`. */
  isFinal: boolean;
  at: number;
}

interface RetryBatch {
  due: number;
  attempts: number;
  reports: WebhookReport[];
}

const FAILURES = [
  { status: 'Failed', description: 'Failed: network rejected the message' },
  { status: 'Undelivered', description: 'Undelivered: absent subscriber' },
] as const;

export function createDeliverySimulator(
  options: FakeDeliveryReportOptions,
  stats: FakeMittoStats,
  seed: number | undefined,
) {
  const random: Random = createRandom(seed === undefined ? undefined : seed + 1);
  const batchSize = options.batchSize ?? 100;
  const delayMs = options.delayMs ?? 10;
  const concurrency = options.concurrency ?? 4;
  const maxAttempts = options.maxAttempts ?? 10;
  const retryDelayMs = options.retryDelayMs ?? 50;
  const agent = options.url
    ? new Agent({ connections: concurrency, keepAliveTimeout: 10_000 })
    : null;
  const headers = { 'content-type': 'application/json', ...options.headers };

  // Fresh reports share one delay, so this FIFO stays sorted by due time; retries keep their own.
  const queue: Pending[] = [];
  let head = 0;
  const retries: RetryBatch[] = [];
  let inFlight = 0;
  let inFlightReports = 0;
  let timer: NodeJS.Timeout | null = null;
  let timerDue = Number.POSITIVE_INFINITY;
  let stopped = false;
  const idleWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  const pendingCount = (): number =>
    queue.length -
    head +
    inFlightReports +
    retries.reduce((n, batch) => n + batch.reports.length, 0);

  const schedule = (message: AcceptedMessage): void => {
    const due = message.at + delayMs;
    if (options.reportSent) {
      queue.push({
        due,
        message,
        status: 'Sent',
        description: null,
        isFinal: false,
        at: message.at,
      });
    }
    const failure = chance(random, options.failureRate) ? FAILURES[random() < 0.5 ? 0 : 1]! : null;
    const final: Pending = {
      due,
      message,
      status: failure?.status ?? 'Delivered',
      description: failure?.description ?? null,
      isFinal: true,
      at: message.at + Math.max(1, delayMs),
    };
    queue.push(final);
    if (chance(random, options.duplicateRate)) {
      queue.push({ ...final });
    }
    if (chance(random, options.lateSentRate)) {
      // Arrives after the final report but carries the earlier time, as a late DLR does.
      queue.push({
        due,
        message,
        status: 'Sent',
        description: null,
        isFinal: false,
        at: message.at,
      });
    }
  };

  /** What the message's status becomes at the provider once this report is out. */
  const apply = (pending: Pending): void => {
    const { message } = pending;
    if (pending.isFinal) {
      message.deliveryStatus = pending.status;
      message.description = pending.description;
      message.updatedAt = pending.at;
    } else if (message.deliveryStatus === 'Queued') {
      message.deliveryStatus = 'Sent';
      message.updatedAt = pending.at;
    }
  };

  const takeDue = (now: number): RetryBatch | null => {
    const retryIndex = retries.findIndex((batch) => batch.due <= now);
    if (retryIndex >= 0) {
      return retries.splice(retryIndex, 1)[0]!;
    }
    const reports: WebhookReport[] = [];
    while (head < queue.length && queue[head]!.due <= now && reports.length < batchSize) {
      const pending = queue[head++]!;
      apply(pending);
      reports.push({
        messageId: pending.message.messageId,
        deliveryStatus: pending.status,
        reference: pending.message.reference,
        description: pending.description,
        updatedAt: new Date(pending.at).toISOString(),
      });
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    return reports.length > 0 ? { due: now, attempts: 0, reports } : null;
  };

  const post = async (batch: RetryBatch): Promise<void> => {
    batch.attempts++;
    let ok = false;
    try {
      const response = await request(options.url!, {
        method: 'POST',
        headers,
        body: JSON.stringify(batch.reports),
        dispatcher: agent!,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await response.body.dump();
      ok = response.statusCode >= 200 && response.statusCode < 300;
    } catch {
      ok = false;
    }
    if (stopped) {
      return;
    }
    if (ok) {
      stats.dlrPosted += batch.reports.length;
      stats.dlrBatchesPosted++;
    } else if (batch.attempts < maxAttempts) {
      stats.dlrRetries++;
      const wait = Math.min(5_000, retryDelayMs * 2 ** (batch.attempts - 1));
      retries.push({ ...batch, due: Date.now() + wait });
    } else {
      stats.dlrFailed += batch.reports.length;
    }
  };

  const pump = (): void => {
    if (stopped) {
      return;
    }
    const now = Date.now();
    for (;;) {
      if (options.url && inFlight >= concurrency) {
        break;
      }
      const batch = takeDue(now);
      if (!batch) {
        break;
      }
      if (!options.url) {
        continue;
      }
      inFlight++;
      inFlightReports += batch.reports.length;
      void post(batch).finally(() => {
        inFlight--;
        inFlightReports -= batch.reports.length;
        pump();
      });
    }
    stats.dlrPending = pendingCount();
    armTimer(now);
    settleWaiters();
  };

  const armTimer = (now: number): void => {
    let next = head < queue.length ? queue[head]!.due : Number.POSITIVE_INFINITY;
    for (const batch of retries) {
      next = Math.min(next, batch.due);
    }
    if (next === Number.POSITIVE_INFINITY || (inFlight >= concurrency && next <= now)) {
      return;
    }
    if (timer && timerDue <= next) {
      return;
    }
    if (timer) {
      clearTimeout(timer);
    }
    timerDue = next;
    timer = setTimeout(
      () => {
        timer = null;
        timerDue = Number.POSITIVE_INFINITY;
        pump();
      },
      Math.max(0, next - now),
    );
  };

  const isIdle = (): boolean => inFlight === 0 && head >= queue.length && retries.length === 0;

  const settleWaiters = (): void => {
    if (isIdle()) {
      for (const waiter of idleWaiters.splice(0)) {
        waiter.resolve();
      }
    }
  };

  return {
    onAccepted(messages: readonly AcceptedMessage[]): void {
      for (const message of messages) {
        schedule(message);
      }
      stats.dlrPending = pendingCount();
      pump();
    },
    /** Resolves once every report due so far and to come was posted or given up on. */
    flush(timeoutMs = 30_000): Promise<void> {
      if (isIdle()) {
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const guard = setTimeout(() => {
          const index = idleWaiters.indexOf(waiter);
          if (index >= 0) {
            idleWaiters.splice(index, 1);
          }
          reject(
            new Error(
              `delivery reports not flushed within ${timeoutMs} ms (${pendingCount()} pending, ${inFlight} posts in flight)`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          resolve: () => {
            clearTimeout(guard);
            resolve();
          },
          reject: (error: Error) => {
            clearTimeout(guard);
            reject(error);
          },
        };
        idleWaiters.push(waiter);
      });
    },
    async stop(): Promise<void> {
      stopped = true;
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      for (const waiter of idleWaiters.splice(0)) {
        waiter.reject(
          new Error('the fake Mitto was closed before its delivery reports were flushed'),
        );
      }
      await agent?.destroy();
    },
  };
}
