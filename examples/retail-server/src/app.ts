// The retail server, assembled: it listens first (the fake Mitto needs the webhook's URL), builds
// the stack, then serves the SMS routes of @smsbatch/express-adapter, the admin routes, the
// status page, /healthz and /metrics. `startRetailServer` is what `npm start` and the tests run.

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createPhoneNormalizer,
  type Logger,
  loadConfig,
  type PipelineOptions,
  type SmsConfig,
} from '@smsbatch/core';
import {
  createNotFoundHandler,
  createProblemErrorHandler,
  createSmsRouter,
} from '@smsbatch/express-adapter';
import { parseDeliveryReports } from '@smsbatch/mitto-client';
import express from 'express';
import type pg from 'pg';
import { createAdminRouter } from './admin.js';
import { createConsoleLogger } from './logger.js';
import { createPromMetrics, type PromMetrics } from './metrics.js';
import {
  createMemoryOwnerRepository,
  createPostgresOwnerRepository,
  type OwnerRepository,
} from './owners.js';
import { createQueuesDashboard } from './queues-dashboard.js';
import { type AppEnv, loadAppEnv, requireSharedInfrastructure, StartupError } from './runtime.js';
import { createStack, type SmsStack } from './stack.js';

export interface RetailServerOptions {
  /** Where settings come from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides `PORT` (0: a free port). */
  port?: number;
  logger?: Logger;
  /** PostgreSQL schemas of the SDK's tables and of the example's own. Default smsbatch, retail. */
  schemas?: { sdk?: string; app?: string };
  /** Pipeline tunables beyond the env config. */
  pipeline?: PipelineOptions;
  /** BullMQ key prefix (with REDIS_URL). Default `smsbatch`. */
  prefix?: string;
}

export interface RetailServer {
  /** `http://127.0.0.1:<port>` (or HOST's address when it names one interface). */
  url: string;
  adminToken: string;
  /** Whether the admin token was generated because ADMIN_TOKEN was unset. */
  isAdminTokenGenerated: boolean;
  stack: SmsStack;
  owners: OwnerRepository;
  metrics: PromMetrics;
  logger: Logger;
  /** Stops accepting connections, lets requests in flight finish, then closes the stack. */
  close(): Promise<void>;
}

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const LIVE_STATUSES = ['scheduled', 'sending', 'paused'] as const;

export async function startRetailServer(options: RetailServerOptions = {}): Promise<RetailServer> {
  const env = options.env ?? process.env;
  const config = loadConfig(env);
  const appEnv = loadAppEnv(env);
  const logger =
    options.logger ?? createConsoleLogger({ level: appEnv.LOG_LEVEL, format: appEnv.LOG_FORMAT });
  const role = appEnv.WORKER ? 'all' : 'server';
  if (role === 'server') requireSharedInfrastructure(config, 'WORKER=off');

  const isFakeMitto = !config.MITTO_API_BASE;
  if (!isFakeMitto && !config.WEBHOOK_SECRET) {
    throw new StartupError(
      'WEBHOOK_SECRET is required with MITTO_API_BASE: set it to the token Mitto sends in ' +
        'X-Webhook-Token, or delivery reports cannot be accepted.',
    );
  }
  const stackConfig: SmsConfig = {
    ...config,
    // The fake Mitto is given the same secret the webhook checks.
    WEBHOOK_SECRET: config.WEBHOOK_SECRET ?? randomBytes(24).toString('base64url'),
    // A fake Mitto takes any sender and traffic account: give the demo working defaults.
    ...(isFakeMitto
      ? {
          MITTO_SENDER: config.MITTO_SENDER ?? 'RetailShop',
          MITTO_TRAFFIC_ACCOUNT_ID: config.MITTO_TRAFFIC_ACCOUNT_ID ?? 'retail-demo',
        }
      : {}),
  };
  const adminToken = appEnv.ADMIN_TOKEN ?? randomBytes(24).toString('base64url');
  const metrics = createPromMetrics();

  // Listen before the stack exists; until it does, every request gets a 503.
  let app: express.Express | null = null;
  const server = createServer((req, res) => {
    if (app) {
      app(req, res);
      return;
    }
    res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
    res.end(
      JSON.stringify({
        type: 'https://smsbatch.dev/problems/unavailable',
        title: 'Service unavailable',
        status: 503,
        detail: 'starting',
        code: 'unavailable',
      }),
    );
  });
  const requestedPort = options.port ?? config.PORT;
  server.listen(requestedPort, appEnv.HOST);
  await once(server, 'listening').catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EADDRINUSE'
      ? new StartupError(`port ${requestedPort} is in use: stop what listens there, or set PORT`)
      : error;
  });
  const port = (server.address() as AddressInfo).port;
  // The fake Mitto is in this process: loopback reaches us unless HOST names one interface.
  const host =
    !appEnv.HOST || appEnv.HOST === '0.0.0.0' || appEnv.HOST === '::'
      ? '127.0.0.1'
      : appEnv.HOST.includes(':')
        ? `[${appEnv.HOST}]`
        : appEnv.HOST;
  const url = `http://${host}:${port}`;

  let pool: pg.Pool | null = null;
  const postgresOwners = config.DATABASE_URL
    ? createPostgresOwnerRepository(
        () => {
          if (!pool) throw new Error('the PostgreSQL pool is not ready');
          return pool;
        },
        { schema: options.schemas?.app ?? appEnv.APP_PG_SCHEMA },
      )
    : null;
  const owners: OwnerRepository = postgresOwners ?? createMemoryOwnerRepository();

  let built: SmsStack | null = null;
  try {
    built = await createStack({
      config: stackConfig,
      role,
      webhookUrl: `${url}/webhooks/mitto/dlr`,
      owners,
      subscription: owners,
      suppression: owners,
      logger,
      metrics: metrics.metrics,
      schema: options.schemas?.sdk ?? appEnv.PG_SCHEMA,
      ...(options.pipeline ? { pipeline: options.pipeline } : {}),
      prefix: options.prefix ?? appEnv.BULLMQ_PREFIX,
      ...(isFakeMitto ? { fake: fakeOptions(appEnv) } : {}),
      prepare: async (ready) => {
        pool = ready;
        await postgresOwners?.migrate();
      },
    });
  } catch (error) {
    server.close();
    // A stack that was built but refused still holds connections and maybe a fake Mitto.
    await built?.close().catch(() => {});
    throw error;
  }
  const stack = built;

  metrics.setLiveSource({
    async liveMessages() {
      const campaigns: Record<string, number> = {};
      const messages: Record<string, number> = {};
      let cursor: string | null = null;
      do {
        const page = await stack.store.listCampaigns({
          statuses: LIVE_STATUSES,
          limit: 200,
          cursor,
        });
        for (const campaign of page.items) {
          campaigns[campaign.status] = (campaigns[campaign.status] ?? 0) + 1;
          // The status view counts recipients not planned yet as queued.
          const view = await stack.pipeline.campaigns.status(campaign.ownerId, campaign.id);
          for (const status of ['queued', 'sending', 'unknown'] as const) {
            messages[status] = (messages[status] ?? 0) + view[status];
          }
        }
        cursor = page.nextCursor;
      } while (cursor !== null);
      return { campaigns, messages };
    },
    queueJobs: () => stack.queueCounts(),
  });

  app = buildApp({ stack, owners, metrics, logger, adminToken, stackConfig, role });

  logger.info(
    { url, role, ...stack.adapters, adminTokenGenerated: !appEnv.ADMIN_TOKEN },
    'retail server listening',
  );

  let closing: Promise<void> | null = null;
  return {
    url,
    adminToken,
    isAdminTokenGenerated: !appEnv.ADMIN_TOKEN,
    stack,
    owners,
    metrics,
    logger,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Idle keep-alive sockets would hold close() open; busy ones finish their request.
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), 10_000);
        await closed;
        clearTimeout(timer);
        await stack.close();
      })();
      return closing;
    },
  };
}

function fakeOptions(appEnv: AppEnv) {
  return {
    ...(appEnv.FAKE_MITTO_LATENCY_MS > 0
      ? {
          faults: {
            latencyMs: {
              min: Math.round(appEnv.FAKE_MITTO_LATENCY_MS / 2),
              max: appEnv.FAKE_MITTO_LATENCY_MS * 2,
            },
          },
        }
      : {}),
    deliveryReports: {
      delayMs: appEnv.FAKE_MITTO_DLR_DELAY_MS,
      failureRate: appEnv.FAKE_MITTO_FAILURE_RATE,
    },
  };
}

function buildApp(deps: {
  stack: SmsStack;
  owners: OwnerRepository;
  metrics: PromMetrics;
  logger: Logger;
  adminToken: string;
  stackConfig: SmsConfig;
  role: 'all' | 'server';
}): express.Express {
  const { stack, owners, metrics, logger } = deps;
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', metrics.timing('/healthz'), async (_req, res) => {
    if (stack.pool) await stack.pool.query('SELECT 1');
    res.json({ status: 'ok', role: deps.role, adapters: stack.adapters });
  });

  app.get('/metrics', metrics.timing('/metrics'), async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(
    createAdminRouter({
      adminToken: deps.adminToken,
      owners,
      ledger: stack.ledger,
      normalizePhone: createPhoneNormalizer(
        deps.stackConfig.PHONE_DEFAULT_COUNTRY
          ? { defaultCountry: deps.stackConfig.PHONE_DEFAULT_COUNTRY }
          : {},
      ),
      timing: metrics.timing,
    }),
  );

  app.use(
    createSmsRouter({
      services: stack.pipeline,
      resolveOwner: async (req) => {
        const match = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '');
        return match ? owners.authenticate(match[1]!) : null;
      },
      webhookSecret: deps.stackConfig.WEBHOOK_SECRET!,
      parseDeliveryReports,
      logger,
      metrics: metrics.metrics,
    }),
  );

  if (stack.queues.length > 0) {
    app.use(createQueuesDashboard({ adminToken: deps.adminToken, queues: stack.queues }));
  }

  // The status page: static files, no build step. Cached briefly so edits show up on reload.
  app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));

  app.use(createNotFoundHandler());
  app.use(createProblemErrorHandler({ logger }));
  return app;
}
