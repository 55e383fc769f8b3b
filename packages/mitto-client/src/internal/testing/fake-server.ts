// A fake Mitto over real sockets (node:http on loopback): the provider of every end-to-end test,
// the demo and the benchmarks. It speaks the three endpoints of mitto-api.md, injects faults on
// demand and keeps a record of every message it accepted, so tests can count duplicates.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PATHS } from '../wire.js';
import { createDeliverySimulator, type FakeDeliveryReportOptions } from './delivery-simulator.js';
import {
  type AcceptedMessage,
  createFakeEngine,
  type DuplicateReport,
  type EngineAnswer,
  type FakeMittoFaults,
  type FakeMittoStats,
  type ScriptedFault,
} from './fake-engine.js';

export interface FakeMittoOptions {
  /** The key every request must carry in `X-Mitto-API-Key`. Default `'test-api-key'`. */
  apiKey?: string;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Makes every injected fault and delivery outcome repeat run after run. */
  seed?: number;
  faults?: FakeMittoFaults;
  /** Bulks larger than this are refused with a 400. Default 1,000. */
  maxBatchSize?: number;
  /**
   * Keep every accepted message (`accepted`, lookups, `duplicates()`). Default true; benchmarks
   * that send millions turn it off and read the counters in `stats()`.
   */
  recordAccepted?: boolean;
  /**
   * Simulate delivery: statuses move from `Queued` to a final one, and reports are POSTed to
   * `url` when given. Without this option messages stay `Sent` and no report is made.
   */
  deliveryReports?: FakeDeliveryReportOptions;
}

export interface FakeMitto {
  /** `http://127.0.0.1:<port>`: the client's `baseUrl`. */
  readonly url: string;
  readonly apiKey: string;
  /** Every accepted message in acceptance order (a live array: do not modify it). */
  readonly accepted: readonly AcceptedMessage[];
  /** Merges into the current faults (`replace: true` starts from none). */
  setFaults(faults: FakeMittoFaults, options?: { replace?: boolean }): void;
  /** Faults for the next send requests, in order, before any random one. */
  failNext(...faults: ScriptedFault[]): void;
  /** Acceptances of the same reference, or of the same destination and text, beyond the first. */
  duplicates(): DuplicateReport;
  /** The accepted message behind a Mitto message id. */
  find(messageId: string): AcceptedMessage | undefined;
  stats(): FakeMittoStats;
  /** Resolves when every delivery report was posted (or given up on); rejects after `timeoutMs`. */
  flushDeliveryReports(options?: { timeoutMs?: number }): Promise<void>;
  /** Stops the server, the delivery reports and every open socket, hung ones included. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const LOOKUP_PREFIX = '/api/v1.1/Messages/';

export async function startFakeMitto(options: FakeMittoOptions = {}): Promise<FakeMitto> {
  const apiKey = options.apiKey ?? 'test-api-key';
  let simulator: ReturnType<typeof createDeliverySimulator> | null = null;
  const engine = createFakeEngine({
    apiKey,
    seed: options.seed,
    faults: options.faults,
    maxBatchSize: options.maxBatchSize,
    record: options.recordAccepted,
    initialStatus: options.deliveryReports ? 'Queued' : 'Sent',
    onAccepted: options.deliveryReports ? (messages) => simulator?.onAccepted(messages) : undefined,
  });
  if (options.deliveryReports) {
    simulator = createDeliverySimulator(options.deliveryReports, engine.stats, options.seed);
  }
  const sockets = new Set<Socket>();
  let requestSeq = 0;

  const respond = (res: ServerResponse, answer: EngineAnswer, socket: Socket): void => {
    if (answer.kind === 'drop') {
      socket.destroy();
      return;
    }
    if (answer.kind === 'hang') {
      // Never answered; close() ends the socket.
      return;
    }
    res.writeHead(answer.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(answer.body),
      'x-request-id': `fake-${++requestSeq}`,
      ...answer.headers,
    });
    res.end(answer.body);
  };

  const route = (req: IncomingMessage, body: string): EngineAnswer => {
    const key = req.headers['x-mitto-api-key'];
    const apiKeyHeader = Array.isArray(key) ? key[0] : key;
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method === 'POST' && path === PATHS.bulk) {
      return engine.handleSend('bulk', apiKeyHeader, body);
    }
    if (req.method === 'POST' && path === PATHS.send) {
      return engine.handleSend('one', apiKeyHeader, body);
    }
    if (
      req.method === 'GET' &&
      path.startsWith(LOOKUP_PREFIX) &&
      path.length > LOOKUP_PREFIX.length
    ) {
      return engine.handleLookup(
        apiKeyHeader,
        decodeURIComponent(path.slice(LOOKUP_PREFIX.length)),
      );
    }
    return { kind: 'respond', status: 404, body: JSON.stringify({ error: 'Not Found' }) };
  };

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    engine.stats.requests++;
    const socket = req.socket;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        socket.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      const body =
        chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      const delay = engine.latencyMs();
      if (delay > 0) {
        setTimeout(() => respond(res, route(req, body), socket), delay);
      } else {
        respond(res, route(req, body), socket);
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;

  return {
    url: `http://${host}:${address.port}`,
    apiKey,
    accepted: engine.accepted,
    setFaults: (faults, setOptions) => engine.setFaults(faults, setOptions?.replace ?? false),
    failNext: (...faults) => engine.failNext(...faults),
    duplicates: () => engine.duplicates(),
    find: (messageId) => engine.find(messageId),
    stats: () => ({ ...engine.stats }),
    flushDeliveryReports: (flushOptions) =>
      simulator ? simulator.flush(flushOptions?.timeoutMs) : Promise.resolve(),
    close: () => {
      closing ??= (async () => {
        await simulator?.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) {
          socket.destroy();
        }
        await closed;
      })();
      return closing;
    },
  };
}
