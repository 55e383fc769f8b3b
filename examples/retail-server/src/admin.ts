// Admin routes of the example: create shops (owners) with an API key and opening credits, top
// up credits through the ledger, record opt-outs, switch a subscription. All behind
// `Authorization: Bearer $ADMIN_TOKEN`, compared in constant time; errors are problem+json like
// the SMS routes'.

import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import {
  type CreditLedger,
  isValidSender,
  type PhoneNormalizer,
  type ValidationIssue,
} from '@smsbatch/core';
import { SmsHttpError } from '@smsbatch/express-adapter';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import type { OwnerRepository } from './owners.js';

export interface AdminRouterOptions {
  adminToken: string;
  owners: OwnerRepository;
  ledger: CreditLedger;
  normalizePhone: PhoneNormalizer;
  timing?: (route: string) => RequestHandler;
}

const credits = z.number().int().min(0).max(1_000_000_000);

const createOwnerBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  credits,
  subscriptionActive: z.boolean().optional(),
  trafficAccountId: z.string().trim().min(1).max(128).optional(),
  sender: z
    .string()
    .trim()
    .refine(isValidSender, {
      error: '3-11 letters, digits or spaces, or up to 16 digits with an optional leading +',
    })
    .optional(),
});

const creditBody = z.strictObject({ amount: credits.min(1) });
const suppressBody = z.strictObject({ phones: z.array(z.string()).min(1).max(10_000) });
const subscriptionBody = z.strictObject({ active: z.boolean() });

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw invalid(
    result.error.issues.map((issue) => ({
      path: issue.path.map((part) => (typeof part === 'number' ? part : String(part))),
      message: issue.message,
    })),
  );
}

const invalid = (issues: ValidationIssue[]) =>
  new SmsHttpError(
    'validation',
    issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '),
    { extensions: { issues } },
  );

export function createAdminRouter(options: AdminRouterOptions): Router {
  const { owners, ledger, normalizePhone } = options;
  const expected = createHash('sha256').update(options.adminToken).digest();
  const router = express.Router();
  const timing = options.timing ?? (() => (_req, _res, next) => next());

  const requireAdmin: RequestHandler = (req, _res, next) => {
    const match = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    const given = createHash('sha256')
      .update(match?.[1] ?? '')
      .digest();
    if (!match || !timingSafeEqual(given, expected)) {
      throw new SmsHttpError('unauthorized', 'the admin token is missing or wrong', {
        headers: { 'WWW-Authenticate': 'Bearer realm="retail-admin"' },
      });
    }
    next();
  };
  const json = express.json({ limit: '1mb' });
  const route = (path: string) => [timing(path), requireAdmin, json] as const;

  const ownerOf = async (req: Request) => {
    const owner = await owners.get(req.params.id as string);
    if (!owner) throw new SmsHttpError('not-found', `owner ${req.params.id} not found`);
    return owner;
  };

  router.post('/admin/owners', ...route('/admin/owners'), async (req, res) => {
    const body = parse(createOwnerBody, req.body);
    const { owner, apiKey } = await owners.create({
      name: body.name,
      subscriptionActive: body.subscriptionActive ?? true,
      trafficAccountId: body.trafficAccountId ?? null,
      sender: body.sender ?? null,
    });
    if (body.credits > 0) {
      await ledger.credit(owner.id, body.credits, `${owner.id}-opening`, {
        reason: 'opening credits',
      });
    }
    res.status(201).json({ ownerId: owner.id, apiKey });
  });

  router.post(
    '/admin/owners/:id/credits',
    ...route('/admin/owners/:id/credits'),
    async (req, res) => {
      const owner = await ownerOf(req);
      const { amount } = parse(creditBody, req.body);
      // A retried top-up with the same Idempotency-Key credits once.
      const key = req.get('idempotency-key');
      const entryId = key ? `${owner.id}-topup-${key}` : `${owner.id}-topup-${randomUUID()}`;
      const balance = await ledger.credit(owner.id, amount, entryId, { reason: 'admin top-up' });
      res.json({ ownerId: owner.id, ...balance });
    },
  );

  router.post(
    '/admin/owners/:id/suppressions',
    ...route('/admin/owners/:id/suppressions'),
    async (req, res) => {
      const owner = await ownerOf(req);
      const { phones } = parse(suppressBody, req.body);
      const issues: ValidationIssue[] = [];
      const normalized: string[] = [];
      phones.forEach((phone, i) => {
        const result = normalizePhone(phone);
        if (result.ok) normalized.push(result.e164);
        else issues.push({ path: ['phones', i], message: `invalid phone: ${result.reason}` });
      });
      if (issues.length > 0) throw invalid(issues);
      const added = await owners.suppress(owner.id, normalized);
      res.json({ ownerId: owner.id, added, phones: normalized });
    },
  );

  router.post(
    '/admin/owners/:id/subscription',
    ...route('/admin/owners/:id/subscription'),
    async (req, res) => {
      const owner = await ownerOf(req);
      const { active } = parse(subscriptionBody, req.body);
      await owners.setSubscriptionActive(owner.id, active);
      res.json({ ownerId: owner.id, subscriptionActive: active });
    },
  );

  return router;
}
