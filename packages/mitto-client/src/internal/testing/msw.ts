// msw request handlers that behave like Mitto, and a dispatcher that feeds the client's undici
// requests to msw handlers. msw cannot see undici's sockets (it patches node:http and fetch),
// so the client is pointed at `createMswDispatcher(handlers)` instead of being intercepted.

import { delay, getResponse, HttpResponse, http, type RequestHandler } from 'msw';
import type { Dispatcher } from 'undici';
import type { MittoDispatcher } from '../options.js';
import { API_KEY_HEADER, PATHS } from '../wire.js';
import {
  type AcceptedMessage,
  createFakeEngine,
  type DuplicateReport,
  type EngineAnswer,
  type FakeMittoFaults,
  type FakeMittoStats,
  type ScriptedFault,
} from './fake-engine.js';

export interface MittoHandlersOptions {
  /** Default `https://messaging.mittoapi.com`, the client's default. */
  baseUrl?: string;
  /** Default `'test-api-key'`. */
  apiKey?: string;
  seed?: number;
  faults?: FakeMittoFaults;
  maxBatchSize?: number;
}

/** The handlers (spread them into `setupServer` or `createMswDispatcher`) and the fake's record. */
export type MittoHandlers = RequestHandler[] & {
  readonly accepted: readonly AcceptedMessage[];
  setFaults(faults: FakeMittoFaults, options?: { replace?: boolean }): void;
  failNext(...faults: ScriptedFault[]): void;
  duplicates(): DuplicateReport;
  stats(): FakeMittoStats;
};

export function createMittoHandlers(options: MittoHandlersOptions = {}): MittoHandlers {
  const base = (options.baseUrl ?? 'https://messaging.mittoapi.com').replace(/\/+$/, '');
  const engine = createFakeEngine({
    apiKey: options.apiKey ?? 'test-api-key',
    seed: options.seed,
    faults: options.faults,
    maxBatchSize: options.maxBatchSize,
    initialStatus: 'Sent',
  });

  const answer = async (result: EngineAnswer): Promise<Response> => {
    const latency = engine.latencyMs();
    if (latency > 0) {
      await delay(latency);
    }
    if (result.kind === 'drop') {
      // A network error after the request was received: the messages were accepted.
      return HttpResponse.error();
    }
    if (result.kind === 'hang') {
      await delay('infinite');
    }
    const respond = result as Extract<EngineAnswer, { kind: 'respond' }>;
    return new HttpResponse(respond.body, {
      status: respond.status,
      headers: { 'content-type': 'application/json', ...respond.headers },
    });
  };

  const send = (kind: 'one' | 'bulk') =>
    http.post(`${base}${kind === 'bulk' ? PATHS.bulk : PATHS.send}`, async ({ request }) => {
      engine.stats.requests++;
      return answer(
        engine.handleSend(kind, request.headers.get(API_KEY_HEADER), await request.text()),
      );
    });

  const handlers: RequestHandler[] = [
    send('bulk'),
    send('one'),
    http.get(`${base}/api/v1.1/Messages/:messageId`, ({ request, params }) => {
      engine.stats.requests++;
      return answer(
        engine.handleLookup(request.headers.get(API_KEY_HEADER), String(params.messageId)),
      );
    }),
  ];

  return Object.assign(handlers, {
    accepted: engine.accepted,
    setFaults: (faults: FakeMittoFaults, setOptions?: { replace?: boolean }) =>
      engine.setFaults(faults, setOptions?.replace ?? false),
    failNext: (...faults: ScriptedFault[]) => engine.failNext(...faults),
    duplicates: () => engine.duplicates(),
    stats: () => ({ ...engine.stats }),
  });
}

/**
 * An undici-compatible dispatcher that answers from msw handlers, for the client's `dispatcher`
 * option. The request counts as written once a handler runs, so `HttpResponse.error()` and a
 * handler that never answers look like a reset or a timeout after sending (ambiguous). A handler
 * that throws an error with a connect-time `code` (see `connectionRefusedError`) is "not sent".
 */
export function createMswDispatcher(handlers: readonly RequestHandler[]): MittoDispatcher {
  return {
    dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      void run(handlers, options, handler as LegacyHandler);
      return true;
    },
  };
}

/** The error a refused connection raises, for msw handlers that simulate one. */
export function connectionRefusedError(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), {
    code: 'ECONNREFUSED',
  });
}

interface LegacyHandler {
  onConnect(abort: (error?: Error) => void): void;
  onRequestSent?(): void;
  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: null): void;
  onError(error: Error): void;
}

async function run(
  handlers: readonly RequestHandler[],
  options: Dispatcher.DispatchOptions,
  handler: LegacyHandler,
): Promise<void> {
  let aborted = false;
  handler.onConnect((reason) => {
    if (!aborted) {
      aborted = true;
      handler.onError(reason ?? new Error('aborted'));
    }
  });
  if (aborted) {
    return;
  }
  const url = new URL(options.path, options.origin ?? 'http://localhost');
  const request = new Request(url, {
    method: options.method,
    headers: toHeaders(options.headers),
    body: options.body == null ? null : toBody(options.body),
  });
  handler.onRequestSent?.();
  let response: Response | undefined;
  try {
    response = await getResponse([...handlers], request);
  } catch (error) {
    if (!aborted) {
      aborted = true;
      handler.onError(error instanceof Error ? error : new Error(String(error)));
    }
    return;
  }
  if (aborted) {
    return;
  }
  if (!response) {
    aborted = true;
    handler.onError(new Error(`no msw handler for ${options.method} ${url.href}`));
    return;
  }
  if (response.type === 'error') {
    aborted = true;
    handler.onError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    return;
  }
  const rawHeaders: Buffer[] = [];
  response.headers.forEach((value, name) => {
    rawHeaders.push(Buffer.from(name), Buffer.from(value));
  });
  const body = Buffer.from(await response.arrayBuffer());
  if (aborted) {
    return;
  }
  handler.onHeaders(response.status, rawHeaders, () => {}, response.statusText);
  if (body.length > 0) {
    handler.onData(body);
  }
  handler.onComplete(null);
}

function toBody(
  body: NonNullable<Dispatcher.DispatchOptions['body']>,
): string | Uint8Array<ArrayBuffer> {
  if (typeof body === 'string') {
    return body;
  }
  if (body instanceof Uint8Array) {
    // A copy on a plain ArrayBuffer: what `Request` accepts as a body.
    return new Uint8Array(body);
  }
  throw new Error('the msw dispatcher only supports string and buffer bodies');
}

function toHeaders(headers: Dispatcher.DispatchOptions['headers']): Headers {
  const out = new Headers();
  if (!headers) {
    return out;
  }
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      out.append(String(headers[i]), String(headers[i + 1]));
    }
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (Array.isArray(value)) {
      for (const entry of value) {
        out.append(name, String(entry));
      }
    } else if (value !== undefined) {
      out.append(name, String(value));
    }
  }
  return out;
}
