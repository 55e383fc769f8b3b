// The `connection` option (a URL, ioredis options or a client) as an ioredis client. A client the
// caller gave is shared and left open; one made here is ours to close.

import type { Logger } from '@smsbatch/core';
import { Redis, type RedisOptions } from 'ioredis';

/** `redis://…` URL, ioredis options, or an ioredis client (shared, never closed by us). */
export type RedisConnection = string | RedisOptions | Redis;

export interface RedisHandle {
  client: Redis;
  /** Quits the client if it is ours; `force` drops it without waiting for replies. */
  close(force?: boolean): Promise<void>;
}

// Duck-typed rather than `instanceof`, so a client from another copy of ioredis is recognised.
const isClient = (value: unknown): value is Redis =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as Redis).duplicate === 'function' &&
  typeof (value as Redis).defineCommand === 'function';

export function openRedis(
  connection: RedisConnection,
  logger: Logger,
  overrides: RedisOptions = {},
): RedisHandle {
  if (isClient(connection)) return { client: connection, close: async () => {} };
  const client =
    typeof connection === 'string'
      ? new Redis(connection, overrides)
      : new Redis({ ...connection, ...overrides });
  // ioredis reconnects by itself; without a listener it would print every failed attempt.
  client.on('error', (error: unknown) => logger.warn({ err: error }, 'redis connection error'));
  let closing: Promise<void> | null = null;
  return {
    client,
    close(force = false) {
      closing ??= (async () => {
        if (force || client.status === 'end') {
          client.disconnect();
          return;
        }
        try {
          await client.quit();
        } catch {
          // Already closed or never connected: nothing left to flush.
          client.disconnect();
        }
      })();
      return closing;
    },
  };
}
