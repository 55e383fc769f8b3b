// The services and processes a benchmark borrows, and the promise to give them back: a PostgreSQL
// schema and a BullMQ prefix of its own per run (dropped and deleted afterwards), child processes
// killed on exit, error or Ctrl-C, and Redis memory figures scoped to our own keys.

import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import pg from 'pg';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Lower-case and digits only: valid as a schema name, a key prefix and an application_name. */
export const uniqueName = (kind: string): string =>
  `bench_${kind}_${randomBytes(4).toString('hex')}`;

/** `DATABASE_URL` with an application_name, so our sessions can be found (and killed) by it. */
export function databaseUrlFor(applicationName: string, base = DATABASE_URL): string {
  const url = new URL(base);
  url.searchParams.set('application_name', applicationName);
  return url.toString();
}

/** `REDIS_URL` pointing at another database number (FLUSHDB there touches nobody else). */
export function redisUrlWithDb(db: number, base = REDIS_URL): string {
  const url = new URL(base);
  url.pathname = `/${db}`;
  return url.toString();
}

// Cleanup runs on every way out; each task runs once.
const cleanups: (() => Promise<unknown>)[] = [];
const children = new Set<ChildProcess>();

/** Registers `task` to run when the benchmark ends, normally or not (last registered first). */
export function onCleanup(task: () => Promise<unknown>): void {
  cleanups.unshift(task);
}

let cleaning: Promise<void> | null = null;
export function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const task of cleanups.splice(0)) {
      await task().catch((error: unknown) =>
        process.stderr.write(`cleanup failed: ${(error as Error)?.message ?? error}\n`),
      );
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}
// Output piped into `head` that closes early must not skip the cleanup.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});
for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(event, (error: unknown) => {
    process.stderr.write(`\n${event}: ${(error as Error)?.stack ?? error}\ncleaning up\n`);
    void cleanUp().finally(() => process.exit(1));
  });
}
process.once('exit', () => {
  // Last resort: the async cleanups cannot run here, but no child outlives us.
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Where compiled entries go: under node_modules, so their third-party imports resolve. */
const COMPILED_DIR = fileURLToPath(
  new URL('../../node_modules/.cache/smsbatch-bench/', import.meta.url),
);
const compiled = new Map<string, Promise<string>>();

/**
 * Forks a TypeScript entry with an IPC channel, as plain JavaScript, the way an app deploys its
 * workers: our sources (the entry and every `@smsbatch/*` package) bundled into one file once per
 * benchmark process, third-party packages imported as usual, no loader in the child. Under tsx a
 * worker carries some 45 MB more (the loader thread and the compiled sources), which would blur
 * its memory figures. The child is killed, and the file removed, when the benchmark ends.
 */
export async function forkCompiled(
  entry: URL,
  options: {
    env?: Record<string, string>;
    args?: string[];
    silent?: boolean;
    execArgv?: string[];
  } = {},
): Promise<ChildProcess> {
  const source = fileURLToPath(entry);
  let outfile = compiled.get(source);
  if (!outfile) {
    outfile = compile(source);
    compiled.set(source, outfile);
  }
  const child = fork(await outfile, options.args ?? [], {
    execArgv: options.execArgv ?? [],
    env: { ...process.env, ...options.env },
    stdio: options.silent
      ? ['ignore', 'pipe', 'pipe', 'ipc']
      : ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function compile(source: string): Promise<string> {
  const outfile = `${COMPILED_DIR}${basename(source, '.ts')}-${process.pid}.mjs`;
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@smsbatch/source'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'third-party-external',
        setup(builder) {
          builder.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@smsbatch/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  onCleanup(() => rm(outfile, { force: true }));
  return outfile;
}

/** Waits for the first IPC message of `type` from the child, or fails if it exits first. */
export function nextMessage<T = Record<string, unknown>>(
  child: ChildProcess,
  type: string,
  timeoutMs = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if ((message as { type?: string })?.type !== type) return;
      done();
      resolve(message as T);
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`child ${child.pid} exited (${signal ?? code}) before "${type}"`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`child ${child.pid}: no "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function dropSchema(schema: string, url = DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export async function withRedis<T>(url: string, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  redis.on('error', () => {});
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

async function keysOf(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key under `prefix:` (the queues and the limiter of one run). */
export function deleteKeys(prefix: string, url = REDIS_URL): Promise<number> {
  return withRedis(url, async (redis) => {
    const keys = await keysOf(redis, prefix);
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
    return keys.length;
  });
}

/** Redis's `used_memory` (the whole instance: other suites' keys count too). */
export const usedMemory = (redis: Redis): Promise<number> =>
  redis.info('memory').then((text) => Number(/used_memory:(\d+)/.exec(text)?.[1] ?? Number.NaN));

/** `MEMORY USAGE` summed over our prefix's keys: our share of Redis, whatever else runs there. */
export async function prefixMemory(
  redis: Redis,
  prefix: string,
): Promise<{ keys: number; bytes: number }> {
  const keys = await keysOf(redis, prefix);
  let bytes = 0;
  for (let i = 0; i < keys.length; i += 200) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(i, i + 200)) pipeline.memory('USAGE', key);
    for (const [, value] of (await pipeline.exec()) ?? []) bytes += Number(value ?? 0);
  }
  return { keys: keys.length, bytes };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `isDone`, or fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  read: () => Promise<T> | T,
  isDone: (value: T) => boolean,
  what: string,
  { timeoutMs = 120_000, intervalMs = 50 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (isDone(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
