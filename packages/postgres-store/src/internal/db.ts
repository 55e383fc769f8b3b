// Runs the store's statements on a pg pool: named prepared statements (parsed and planned once per
// connection), bounded retries of transient failures, and transactions that re-run as a whole.
// Everything the store sends is safe to repeat: single statements are atomic and guarded, and a
// transaction that failed was rolled back.

import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { PostgresStoreError } from './errors.js';

export interface Statement {
  text: string;
  values: readonly unknown[];
}

export type Row = Record<string, unknown>;

export interface Executor {
  run<R extends QueryResultRow = Row>(statement: Statement): Promise<R[]>;
  /** A script of one or more statements without parameters (DDL), sent unprepared. */
  exec(script: string): Promise<void>;
}

export interface Db {
  run: Executor['run'];
  /** Runs `work` in one transaction; a transient failure anywhere re-runs all of it. */
  transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T>;
}

export interface RetryOptions {
  /** Extra attempts after a transient failure (default 4). */
  maxRetries?: number;
  /** First backoff; doubles per retry, with jitter, capped at 1 s (default 20 ms). */
  baseDelayMs?: number;
}

// Serialization failure, deadlock, admin/crash shutdown, cannot connect now, too many connections.
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '53300']);
const TRANSIENT_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);
// node-postgres reports a dropped socket with these messages and no code.
const TRANSIENT_MESSAGE = /Connection terminated|not queryable/;

export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || code.startsWith('08')) return true;
    if (TRANSIENT_NETWORK_CODES.has(code)) return true;
  }
  return TRANSIENT_MESSAGE.test(error.message);
}

/** A PostgreSQL error (it carries a SQLSTATE and a severity), as opposed to a domain error. */
function isDatabaseError(error: unknown): error is Error & { code: string; constraint?: string } {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    'severity' in error
  );
}

function wrap(error: unknown, transient: boolean): unknown {
  if (transient) {
    const sqlState = isDatabaseError(error) ? error.code : null;
    return new PostgresStoreError('unavailable', `database unavailable: ${messageOf(error)}`, {
      sqlState,
      constraint: null,
      cause: error,
    });
  }
  if (!isDatabaseError(error)) return error;
  return new PostgresStoreError('query_failed', error.message, {
    sqlState: error.code,
    constraint: error.constraint ?? null,
    cause: error,
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const ignoreClientError = () => {};

export function createDb(pool: Pool, options: RetryOptions = {}): Db {
  const maxRetries = options.maxRetries ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 20;
  const names = new Map<string, string>();

  // Statement names derive from the text, so every store sharing the pool (another schema, say)
  // gets its own prepared statement and a connection never sees one name with two texts.
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (name === undefined) {
      name = `sb_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return name;
  };

  const runOn = async <R extends QueryResultRow>(client: PoolClient, statement: Statement) => {
    const result = await client.query<R>({
      name: nameOf(statement.text),
      text: statement.text,
      values: statement.values as unknown[],
    });
    return result.rows;
  };

  const withClient = async <T>(work: (client: PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    // A dropped connection is also emitted as an 'error' event on the checked-out client; the
    // failed query already reports it, and an unhandled event would crash the process.
    client.on('error', ignoreClientError);
    try {
      return await work(client);
    } finally {
      client.off('error', ignoreClientError);
      // node-postgres discards a client whose connection broke; a healthy one goes back idle.
      client.release();
    }
  };

  const withRetry = async <T>(attempt: () => Promise<T>): Promise<T> => {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (error) {
        const transient = isTransient(error);
        if (!transient || retry >= maxRetries) throw wrap(error, transient);
        const ceiling = Math.min(1000, baseDelayMs * 2 ** retry);
        await new Promise((resolve) =>
          setTimeout(resolve, ceiling / 2 + (Math.random() * ceiling) / 2),
        );
      }
    }
  };

  const executorOf = (client: PoolClient): Executor => ({
    run: (statement) => runOn(client, statement),
    exec: async (script) => {
      await client.query(script);
    },
  });

  return {
    run: (statement) => withRetry(() => withClient((client) => runOn(client, statement))),

    transaction: (work) =>
      withRetry(() =>
        withClient(async (client) => {
          await client.query('BEGIN');
          try {
            const result = await work(executorOf(client));
            await client.query('COMMIT');
            return result;
          } catch (error) {
            // On a broken connection the rollback fails too; the server rolls back on its own.
            await client.query('ROLLBACK').catch(ignoreClientError);
            throw error;
          }
        }),
      ),
  };
}
