// The delivery-report webhook: a shared secret checked in constant time, then the body handed to
// the app's parser as text (JSON or form, one event or many) and the readable events to the
// pipeline, which stores them deduplicated with their raw form for audit and replay.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { DeliveryEvent, DeliveryReportSummary, Logger, Metrics } from '@smsbatch/core';
import type { Request, RequestHandler } from 'express';
import { SmsHttpError } from './problems.js';

/** What the adapter needs from a delivery-report parser (`parseDeliveryReports` of mitto-client). */
export interface DeliveryReportParseResult {
  /** Reports that move a message; `raw` is the item as received, kept by the pipeline. */
  events: readonly (DeliveryEvent & { raw?: unknown })[];
  /** Readable reports that carry no news (`Queued`, an unknown status word). */
  noNews: readonly unknown[];
  unreadable: readonly { reason: string }[];
}

/** Gets the raw body as text (POST) or the query string's parameters (GET). Must not throw. */
export type DeliveryReportParser = (input: string | URLSearchParams) => DeliveryReportParseResult;

export interface WebhookServices {
  receiveDeliveryReports(
    events: readonly DeliveryEvent[],
    raw?: readonly unknown[],
  ): Promise<DeliveryReportSummary>;
}

/** Query parameter carrying the secret when `allowQuerySecret` is on. */
export const QUERY_SECRET_PARAM = 'token';
const TOKEN_HEADER = 'x-webhook-token';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Checks `X-Webhook-Token` (and `?token=` when allowed). Both sides are hashed first, so the
 * comparison takes the same time whatever the candidate's length or content.
 */
export function createWebhookAuth(secret: string, allowQuerySecret: boolean): RequestHandler {
  const expected = digest(secret);
  const matches = (candidate: string | undefined) =>
    candidate !== undefined && candidate !== '' && timingSafeEqual(digest(candidate), expected);
  return (req, _res, next) => {
    const header = req.get(TOKEN_HEADER);
    const query = allowQuerySecret ? searchParamsOf(req).get(QUERY_SECRET_PARAM) : null;
    if (matches(header) || matches(query ?? undefined)) {
      next();
      return;
    }
    const detail =
      header === undefined && query === null
        ? 'missing X-Webhook-Token'
        : 'the webhook token does not match';
    next(new SmsHttpError('unauthorized', detail));
  };
}

/** The request's query string, minus the secret (it must not end up in stored raw events). */
export function searchParamsOf(req: Request): URLSearchParams {
  const at = req.originalUrl.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : req.originalUrl.slice(at + 1));
}

export function createWebhookHandler(options: {
  services: WebhookServices;
  parse: DeliveryReportParser;
  logger: Logger;
  metrics: Metrics | null;
}): RequestHandler {
  const { services, parse, logger, metrics } = options;
  return async (req, res) => {
    let input: string | URLSearchParams;
    if (req.method === 'GET') {
      input = searchParamsOf(req);
      input.delete(QUERY_SECRET_PARAM);
    } else {
      input = typeof req.body === 'string' ? req.body : '';
    }
    const parsed = parse(input);
    if (parsed.events.length === 0 && parsed.noNews.length === 0) {
      metrics?.increment('smsbatch_webhook_requests_total', 1, { outcome: 'unreadable' });
      throw new SmsHttpError('unreadable-delivery-report', 'no delivery report could be read', {
        extensions: { reasons: parsed.unreadable.slice(0, 20).map((item) => item.reason) },
      });
    }
    if (parsed.unreadable.length > 0) {
      // The readable part is applied; the rest is logged so a format change gets noticed.
      logger.warn(
        {
          unreadable: parsed.unreadable.length,
          reasons: parsed.unreadable.slice(0, 5).map((item) => item.reason),
        },
        'delivery reports partly unreadable',
      );
    }
    const events = parsed.events.map(
      (event): DeliveryEvent => ({
        providerMessageId: event.providerMessageId,
        reference: event.reference,
        state: event.state,
        providerStatus: event.providerStatus,
        reason: event.reason,
        occurredAt: event.occurredAt,
      }),
    );
    const summary =
      events.length > 0
        ? await services.receiveDeliveryReports(
            events,
            parsed.events.map((event) => event.raw ?? null),
          )
        : { received: 0, duplicates: 0, applied: 0, pending: 0 };
    metrics?.increment('smsbatch_webhook_requests_total', 1, { outcome: 'accepted' });
    if (events.length > 0) {
      metrics?.increment('smsbatch_webhook_events_total', events.length, { outcome: 'event' });
    }
    if (parsed.noNews.length > 0) {
      metrics?.increment('smsbatch_webhook_events_total', parsed.noNews.length, {
        outcome: 'no_news',
      });
    }
    if (parsed.unreadable.length > 0) {
      metrics?.increment('smsbatch_webhook_events_total', parsed.unreadable.length, {
        outcome: 'unreadable',
      });
    }
    res.status(202).json({
      ...summary,
      noNews: parsed.noNews.length,
      unreadable: parsed.unreadable.length,
    });
  };
}
