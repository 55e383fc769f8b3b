// bull-board at /admin/queues when the queues are on BullMQ: the jobs of every queue, for an
// operator. A browser cannot send a bearer token, so it asks for HTTP Basic credentials and takes
// the admin token as the password (any user name); a bearer token works too, for scripts.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type RequestHandler, type Router } from 'express';

export const QUEUES_PATH = '/admin/queues';

export function createQueuesDashboard(options: { adminToken: string; queues: Queue[] }): Router {
  const expected = createHash('sha256').update(options.adminToken).digest();
  const matches = (token: string) =>
    timingSafeEqual(createHash('sha256').update(token).digest(), expected);

  const requireAdmin: RequestHandler = (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const bearer = /^Bearer (.+)$/.exec(header)?.[1];
    const basic = /^Basic (.+)$/.exec(header)?.[1];
    const password = basic
      ? Buffer.from(basic, 'base64').toString('utf8').split(':').slice(1).join(':')
      : undefined;
    const token = bearer ?? password;
    if (token !== undefined && matches(token)) {
      next();
      return;
    }
    res.set('WWW-Authenticate', 'Basic realm="retail-admin queues"').status(401).end();
  };

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: options.queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: false })),
    serverAdapter,
  });
  const router = express.Router();
  router.use(QUEUES_PATH, requireAdmin, serverAdapter.getRouter());
  return router;
}
