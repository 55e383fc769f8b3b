// One HTTP exchange over an undici dispatcher, tracking the one fact the pipeline needs when it
// fails: had the request been written to the socket? undici tells its handlers `onRequestSent`;
// before that nothing can have reached Mitto, after it anything may have.

import type { Dispatcher } from 'undici';
import type { MittoDispatcher } from './options.js';

export interface HttpAnswer {
  status: number;
  body: Buffer;
  retryAfter: string | null;
  requestId: string | null;
}

export type FailureKind = 'timeout' | 'aborted' | 'network';

/** Why an exchange produced no answer, and whether the request had gone out by then. */
export class TransportFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly wasSent: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportFailure';
  }
}

export interface ExchangeRequest {
  origin: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: string | null;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

// Errors raised while connecting: no socket existed, so no request can have been written,
// whatever the dispatcher said about it (a test dispatcher may report such an error late).
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const REQUEST_ID_HEADERS = new Set(['x-request-id', 'request-id', 'x-correlation-id']);

/** Answers bigger than this are not Mitto's; reading them would only burn memory. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export function exchange(
  dispatcher: MittoDispatcher,
  request: ExchangeRequest,
): Promise<HttpAnswer> {
  const { signal } = request;
  if (signal?.aborted) {
    return Promise.reject(
      new TransportFailure('aborted', false, 'aborted before the request was sent', {
        cause: signal.reason,
      }),
    );
  }

  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    let wasSent = false;
    let abortRequest: ((error?: Error) => void) | null = null;
    let status = 0;
    let retryAfter: string | null = null;
    let requestId: string | null = null;
    const chunks: Buffer[] = [];
    let bytes = 0;

    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (failure: TransportFailure): void => {
      if (settled) {
        return;
      }
      finish();
      abortRequest?.(failure);
      reject(failure);
    };

    const timer = setTimeout(() => {
      fail(
        new TransportFailure(
          'timeout',
          wasSent,
          wasSent
            ? `no answer within ${request.timeoutMs} ms after the request was sent`
            : `the request could not be sent within ${request.timeoutMs} ms`,
        ),
      );
    }, request.timeoutMs);

    function onAbort(): void {
      fail(
        new TransportFailure(
          'aborted',
          wasSent,
          wasSent ? 'aborted after the request was sent' : 'aborted before the request was sent',
          { cause: signal?.reason },
        ),
      );
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    // undici's handler protocol as its dispatchers call it (onRequestSent is not in its typings).
    const handler = {
      onConnect(abort: (error?: Error) => void): void {
        if (settled) {
          abort(new Error('request cancelled'));
          return;
        }
        abortRequest = abort;
      },
      onBodySent(): void {
        wasSent = true;
      },
      onRequestSent(): void {
        wasSent = true;
      },
      onResponseStarted(): void {
        wasSent = true;
      },
      onHeaders(statusCode: number, rawHeaders: Buffer[] | string[] | null): boolean {
        wasSent = true;
        if (statusCode < 200) {
          return true;
        }
        status = statusCode;
        if (rawHeaders) {
          for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
            const name = rawHeaders[i]!.toString().toLowerCase();
            if (name === 'retry-after') {
              retryAfter = rawHeaders[i + 1]!.toString();
            } else if (REQUEST_ID_HEADERS.has(name) && requestId === null) {
              requestId = rawHeaders[i + 1]!.toString();
            }
          }
        }
        return true;
      },
      onData(chunk: Buffer): boolean {
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES) {
          fail(new TransportFailure('network', true, `answer larger than ${MAX_BODY_BYTES} bytes`));
          return false;
        }
        chunks.push(chunk);
        return true;
      },
      onComplete(): void {
        if (settled) {
          return;
        }
        finish();
        resolve({
          status,
          body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes),
          retryAfter,
          requestId,
        });
      },
      onError(error: Error): void {
        if (settled) {
          return;
        }
        const code = (error as { code?: unknown }).code;
        const sent = wasSent && !(typeof code === 'string' && CONNECT_ERROR_CODES.has(code));
        fail(new TransportFailure('network', sent, error.message, { cause: error }));
      },
    };

    try {
      dispatcher.dispatch(
        {
          origin: request.origin,
          method: request.method,
          path: request.path,
          headers: request.headers,
          body: request.body,
          // Our own timer bounds the whole exchange; undici's would only race it.
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        handler as unknown as Dispatcher.DispatchHandler,
      );
    } catch (error) {
      fail(
        new TransportFailure('network', false, (error as Error).message ?? String(error), {
          cause: error,
        }),
      );
    }
  });
}
