// `createSmsRouter`: every route of the HTTP contract on an Express 5 Router. Handlers read the
// request, call one core service and translate the answer; the protocol, ownership rules and
// credits stay in core. Middleware is attached per route, never router-wide, so the router can be
// mounted at `/` next to an app's own routes without touching their requests.

import type { Logger, Metrics, SmsPipeline } from '@smsbatch/core';
import { silentLogger } from '@smsbatch/core';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { createProblemErrorHandler, DEFAULT_PROBLEM_TYPE_BASE, SmsHttpError } from './problems.js';
import {
  createCampaignBody,
  enqueueBody,
  messagesQuery,
  pageQuery,
  parseRequest,
  testMessageBody,
} from './schemas.js';
import { balanceView, batchView, campaignView, messageView } from './views.js';
import { createWebhookAuth, createWebhookHandler, type DeliveryReportParser } from './webhook.js';

/** The pipeline services the routes call: `createSmsPipeline(...)` fits, or a narrower stand-in. */
export type SmsServices = Pick<
  SmsPipeline,
  'campaigns' | 'messages' | 'balance' | 'receiveDeliveryReports'
>;

/**
 * The app's authentication: the owner (tenant) a request acts for, or null/undefined when it
 * carries no valid credentials (answered 401). May throw an `SmsHttpError` of its own.
 */
export type ResolveOwner = (
  req: Request,
) => string | null | undefined | Promise<string | null | undefined>;

export interface SmsRouterOptions {
  services: SmsServices;
  resolveOwner: ResolveOwner;
  /** Shared secret of the delivery-report webhook, expected in `X-Webhook-Token`. */
  webhookSecret: string;
  /**
   * Also accept the secret as `?token=` on the webhook (old Mitto accounts cannot set headers).
   * Query strings end up in access logs, so this is off unless asked for. Default false.
   */
  allowQuerySecret?: boolean;
  /** Largest request body, in bytes or as `'5mb'`; larger ones get a 413. Default `'5mb'`. */
  bodyLimit?: number | string;
  /**
   * Turns a webhook body into delivery events: `parseDeliveryReports` of
   * `@smsbatch/mitto-client` for Mitto. Taken as an option so the adapter knows no provider.
   */
  parseDeliveryReports: DeliveryReportParser;
  logger?: Logger;
  /**
   * Records `smsbatch_http_request_duration_ms` (labels method, route, status) for the
   * router's own routes, and the webhook's `smsbatch_webhook_requests_total` and
   * `smsbatch_webhook_events_total` (label outcome).
   */
  metrics?: Metrics;
  /** Prefix of every problem `type`. Default `https://smsbatch.dev/problems/`. */
  problemTypeBase?: string;
}

const JSON_TYPES = ['application/json', 'application/*+json'];
const DEFAULT_BODY_LIMIT = '5mb';

export function createSmsRouter(options: SmsRouterOptions): Router {
  const { services, resolveOwner } = options;
  if (typeof options.webhookSecret !== 'string' || options.webhookSecret.trim() === '') {
    // An open webhook lets anyone mark messages delivered or failed: refuse to build one.
    throw new TypeError('createSmsRouter: webhookSecret must be a non-empty string');
  }
  const logger = options.logger ?? silentLogger;
  const metrics = options.metrics ?? null;
  const limit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const router = express.Router();

  const timed =
    (route: string): RequestHandler =>
    (req, res, next) => {
      if (metrics) {
        const started = performance.now();
        res.once('close', () => {
          metrics.observe('smsbatch_http_request_duration_ms', performance.now() - started, {
            method: req.method,
            route,
            status: String(res.statusCode),
          });
        });
      }
      next();
    };

  const authenticate: RequestHandler = async (req, res, next) => {
    const ownerId = await resolveOwner(req);
    if (typeof ownerId !== 'string' || ownerId === '') {
      throw new SmsHttpError('unauthorized', 'a valid API key is required', {
        headers: { 'WWW-Authenticate': 'Bearer realm="smsbatch"' },
      });
    }
    res.locals.ownerId = ownerId;
    next();
  };

  const jsonBody: RequestHandler[] = [
    (req, _res, next) => {
      // An empty POST (fetch sends `Content-Length: 0`) is fine on routes whose body is optional.
      const hasBody =
        req.headers['transfer-encoding'] !== undefined ||
        Number(req.headers['content-length'] ?? 0) > 0;
      if (hasBody && !req.is(JSON_TYPES)) {
        throw new SmsHttpError('unsupported-media-type', 'send the body as application/json');
      }
      next();
    },
    express.json({ limit, type: JSON_TYPES }),
  ];

  type Handler = (req: Request, res: Response, ownerId: string) => Promise<void>;
  const owned = (method: 'get' | 'post', path: string, handler: Handler, withBody = false) => {
    router[method](
      path,
      timed(path),
      authenticate,
      ...(withBody ? jsonBody : []),
      (req: Request, res: Response) => handler(req, res, res.locals.ownerId as string),
    );
  };
  const idOf = (req: Request) => req.params.id as string;

  owned(
    'post',
    '/campaigns',
    async (req, res, ownerId) => {
      const body = parseRequest(createCampaignBody, req.body, 'body');
      const campaign = await services.campaigns.create(ownerId, body);
      res
        .status(201)
        .location(`${req.baseUrl}/campaigns/${encodeURIComponent(campaign.id)}`)
        .json({ id: campaign.id, status: campaign.status, total: campaign.total });
    },
    true,
  );

  const campaignsQuery = pageQuery(100);
  owned('get', '/campaigns', async (req, res, ownerId) => {
    const query = parseRequest(campaignsQuery, req.query, 'query');
    const page = await services.campaigns.statuses(ownerId, query);
    res.json({ items: page.items.map(campaignView), nextCursor: page.nextCursor });
  });

  owned('get', '/campaigns/:id', async (req, res, ownerId) => {
    res.json(campaignView(await services.campaigns.status(ownerId, idOf(req))));
  });

  owned(
    'post',
    '/campaigns/:id/enqueue',
    async (req, res, ownerId) => {
      const body = parseRequest(enqueueBody, req.body ?? {}, 'body');
      const scheduledAt = body.scheduledAt ? Date.parse(body.scheduledAt) : null;
      res.status(202).json(await services.campaigns.enqueue(ownerId, idOf(req), { scheduledAt }));
    },
    true,
  );

  owned('get', '/campaigns/:id/messages', async (req, res, ownerId) => {
    const query = parseRequest(messagesQuery, req.query, 'query');
    const page = await services.campaigns.messages(ownerId, idOf(req), query);
    res.json({ items: page.items.map(messageView), nextCursor: page.nextCursor });
  });

  const batchesQuery = pageQuery(1000);
  owned('get', '/campaigns/:id/batches', async (req, res, ownerId) => {
    const query = parseRequest(batchesQuery, req.query, 'query');
    const page = await services.campaigns.batches(ownerId, idOf(req), query);
    res.json({ items: page.items.map(batchView), nextCursor: page.nextCursor });
  });

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    owned('post', `/campaigns/:id/${action}`, async (req, res, ownerId) => {
      res.status(202).json(await services.campaigns[action](ownerId, idOf(req)));
    });
  }

  owned('post', '/campaigns/:id/retry-failed', async (req, res, ownerId) => {
    res.status(202).json(await services.campaigns.retryFailed(ownerId, idOf(req)));
  });

  // Lookups take one provider call per `sent` message: a worker runs them (one pending refresh
  // job per campaign), so the HTTP process stays light and a double click costs nothing.
  owned('post', '/campaigns/:id/refresh-statuses', async (req, res, ownerId) => {
    res.status(202).json(await services.campaigns.refreshStatuses(ownerId, idOf(req)));
  });

  owned(
    'post',
    '/messages/test',
    async (req, res, ownerId) => {
      const body = parseRequest(testMessageBody, req.body, 'body');
      res.status(202).json(await services.messages.sendTest(ownerId, body));
    },
    true,
  );

  owned('get', '/messages/:id', async (req, res, ownerId) => {
    res.json(messageView(await services.messages.get(ownerId, idOf(req))));
  });

  owned('get', '/balance', async (_req, res, ownerId) => {
    res.json(balanceView(await services.balance(ownerId)));
  });

  const webhookPath = '/webhooks/mitto/dlr';
  const webhookAuth = createWebhookAuth(options.webhookSecret, options.allowQuerySecret ?? false);
  const webhook = createWebhookHandler({
    services,
    parse: options.parseDeliveryReports,
    logger,
    metrics,
  });
  // The secret is checked before the body is read: strangers do not get to upload megabytes.
  router.post(
    webhookPath,
    timed(webhookPath),
    webhookAuth,
    express.text({ type: () => true, limit }),
    webhook,
  );
  router.get(webhookPath, timed(webhookPath), webhookAuth, webhook);

  router.use(
    createProblemErrorHandler({
      logger,
      problemTypeBase: options.problemTypeBase ?? DEFAULT_PROBLEM_TYPE_BASE,
    }),
  );
  return router;
}
