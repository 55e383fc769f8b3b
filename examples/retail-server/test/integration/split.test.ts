// The production shape: `WORKER=off npm start` (HTTP only) and two `npm run worker` processes,
// sharing jobs through Redis and data through PostgreSQL, sending through a fake Mitto that posts
// its delivery reports to the server. A campaign created over HTTP completes with no duplicate.
// Skipped (loudly) without Redis and PostgreSQL, unless CI=true, where that is a failure.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startFakeMitto } from '@smsbatch/mitto-client/testing';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, phones, request, waitFor } from '../helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const isCI = process.env.CI === 'true';

async function servicesProblem(): Promise<string | null> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
  });
  redis.on('error', () => {});
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await redis.connect();
    await client.connect();
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    redis.disconnect();
    await client.end().catch(() => {});
  }
}

const problem = await servicesProblem();
if (problem !== null && !isCI) {
  console.warn(
    `\n!!! Redis or PostgreSQL unreachable (${problem}): the split-process test is SKIPPED.\n`,
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(problem !== null && !isCI)('server and workers in separate processes', () => {
  const children: ChildProcess[] = [];
  const schema = `split_${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    const pool = new pg.Pool({ connectionString: DATABASE_URL });
    await pool.query(
      `DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_app" CASCADE`,
    );
    await pool.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${schema}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('sends a campaign created on the server through the worker processes', async () => {
    const port = await freePort();
    const secret = randomBytes(12).toString('hex');
    const fake = await startFakeMitto({
      deliveryReports: {
        url: `http://127.0.0.1:${port}/webhooks/mitto/dlr`,
        headers: { 'X-Webhook-Token': secret },
        delayMs: 20,
      },
    });
    const env = {
      PATH: process.env.PATH ?? '',
      REDIS_URL,
      DATABASE_URL,
      MITTO_API_BASE: fake.url,
      MITTO_API_KEY: fake.apiKey,
      MITTO_SENDER: 'Shop',
      MITTO_TRAFFIC_ACCOUNT_ID: 'ta-split',
      WEBHOOK_SECRET: secret,
      ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
      PG_SCHEMA: schema,
      BULLMQ_PREFIX: schema,
      APP_PG_SCHEMA: `${schema}_app`,
    };
    const start = (entry: string, extra: Record<string, string>) => {
      const child = spawn(
        process.execPath,
        ['--conditions=@smsbatch/source', '--import', 'tsx', entry],
        {
          cwd: ROOT,
          env: { ...env, ...extra },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      return child;
    };
    start('src/server.ts', { WORKER: 'off', PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(
      () =>
        fetch(`${url}/healthz`)
          .then((r) => r.status)
          .catch(() => 0),
      (status) => status === 200,
    );
    const workers = [start('src/worker.ts', {}), start('src/worker.ts', {})];

    const owner = await request(`${url}/admin/owners`, 'POST', {
      token: ADMIN_TOKEN,
      body: { name: 'Split', credits: 1000 },
    });
    expect(owner.status).toBe(201);
    const created = await request(`${url}/campaigns`, 'POST', {
      token: owner.body.apiKey,
      body: { name: 'Split', text: 'Hello from a worker', recipients: phones(600) },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(
      (await request(`${url}/campaigns/${id}/enqueue`, 'POST', { token: owner.body.apiKey }))
        .status,
    ).toBe(202);
    const done = await waitFor(
      () => request(`${url}/campaigns/${id}`, 'GET', { token: owner.body.apiKey }),
      (answer) => answer.body.status === 'completed' && answer.body.delivered === 600,
      30_000,
    );
    expect(done.body).toMatchObject({ creditsDebited: 600, creditsReserved: 0, failed: 0 });
    expect(fake.accepted).toHaveLength(600);
    expect(fake.duplicates()).toMatchObject({ byReference: 0 });

    for (const worker of workers) {
      const exited = once(worker, 'exit');
      worker.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
    }
    await fake.close();
  }, 60_000);
});
