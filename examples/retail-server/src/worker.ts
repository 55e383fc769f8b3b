// `npm run worker`: a process that only runs jobs (batches, planner, test sends, reconciler),
// next to servers started with WORKER=off. It shares jobs through Redis and data through
// PostgreSQL, so it refuses to start, saying why, when REDIS_URL or DATABASE_URL is missing.

import { once } from 'node:events';
import { createServer } from 'node:http';
import { type Logger, loadConfig } from '@smsbatch/core';
import type pg from 'pg';
import { createConsoleLogger } from './logger.js';
import { createPromMetrics } from './metrics.js';
import { createPostgresOwnerRepository } from './owners.js';
import {
  closeOnSignals,
  exitOnStartupFailure,
  loadAppEnv,
  requireSharedInfrastructure,
} from './runtime.js';
import { createStack, type SmsStack } from './stack.js';

async function startWorker(): Promise<{
  stack: SmsStack;
  logger: Logger;
  close(): Promise<void>;
}> {
  const config = loadConfig();
  const appEnv = loadAppEnv(process.env);
  requireSharedInfrastructure(config, 'npm run worker');
  const logger = createConsoleLogger({ level: appEnv.LOG_LEVEL, format: appEnv.LOG_FORMAT });
  const metrics = createPromMetrics();

  // Owners live in the server's tables; the worker reads their senders, subscriptions, opt-outs.
  let pool: pg.Pool | null = null;
  const owners = createPostgresOwnerRepository(
    () => {
      if (!pool) throw new Error('the PostgreSQL pool is not ready');
      return pool;
    },
    { schema: appEnv.APP_PG_SCHEMA },
  );
  const stack = await createStack({
    config,
    role: 'worker',
    schema: appEnv.PG_SCHEMA,
    prefix: appEnv.BULLMQ_PREFIX,
    owners,
    subscription: owners,
    suppression: owners,
    logger,
    metrics: metrics.metrics,
    prepare: async (ready) => {
      pool = ready;
      await owners.migrate();
    },
  });

  // A worker has no routes of its own; METRICS_PORT gives Prometheus something to scrape.
  const metricsServer =
    appEnv.METRICS_PORT === undefined
      ? null
      : createServer((req, res) => {
          if (req.url === '/metrics') {
            metrics.registry.metrics().then(
              (text) =>
                res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
              () => res.writeHead(500).end(),
            );
          } else if (req.url === '/healthz') {
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
          } else {
            res.writeHead(404).end();
          }
        });
  if (metricsServer) {
    metricsServer.listen(appEnv.METRICS_PORT, appEnv.HOST);
    await once(metricsServer, 'listening');
  }
  logger.info({ ...stack.adapters, metricsPort: appEnv.METRICS_PORT }, 'worker running');
  return {
    stack,
    logger,
    async close() {
      metricsServer?.close();
      await stack.close();
    },
  };
}

const worker = await startWorker().catch(exitOnStartupFailure);
closeOnSignals(worker.close, { logger: worker.logger });
