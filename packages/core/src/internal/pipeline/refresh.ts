// Status refresh: look up `sent` messages that never got a final delivery report and apply the
// answers like reports. Bounded in parallelism, rate limited per traffic account, and each
// message is looked up a limited number of times (never polled forever).

import type { DeliveryEvent, MessageRecord } from '../domain/types.js';
import type { MessageScan } from '../ports/campaign-store.js';
import type { Context } from './context.js';
import { receiveDeliveryEvents } from './delivery.js';
import { lookupKey } from './rate-keys.js';

export interface RefreshReport {
  lookedUp: number;
  updated: number;
}

/** A campaign's or a bulk's `sent` messages, or (neither given) the periodic sweep. */
export async function refreshStatuses(
  ctx: Context,
  target: { campaignId?: string; bulkId?: string },
): Promise<RefreshReport> {
  const now = ctx.clock.now();
  const scan: Omit<MessageScan, 'limit'> =
    target.campaignId !== undefined || target.bulkId !== undefined
      ? { status: 'sent', ...target, lookedUpBefore: now }
      : {
          status: 'sent',
          updatedBefore: now - ctx.options.refreshAfterMs,
          lookedUpBefore: now - ctx.options.refreshEveryMs,
          maxLookups: ctx.options.maxLookups,
        };
  const report: RefreshReport = { lookedUp: 0, updated: 0 };
  for (;;) {
    const messages = await ctx.store.scanMessages({ ...scan, limit: ctx.options.scanLimit });
    if (messages.length === 0) break;
    const events = await lookUpAll(ctx, messages);
    await ctx.store.markLookedUp(
      messages.map((m) => m.id),
      { now },
    );
    report.lookedUp += messages.length;
    if (events.length > 0) {
      report.updated += (await receiveDeliveryEvents(ctx, events, 'lookup')).applied;
    }
    if (messages.length < ctx.options.scanLimit) break;
  }
  return report;
}

async function lookUpAll(
  ctx: Context,
  messages: readonly MessageRecord[],
): Promise<DeliveryEvent[]> {
  const events: DeliveryEvent[] = [];
  let next = 0;
  const worker = async () => {
    while (next < messages.length) {
      const message = messages[next++]!;
      if (message.providerMessageId === null) continue;
      await waitForBudget(ctx, message.trafficAccountId);
      try {
        const answer = await ctx.provider.lookup(message.providerMessageId);
        if (answer?.state) {
          events.push({
            ...answer,
            state: answer.state,
            reference: answer.reference ?? message.id,
          });
        }
      } catch (error) {
        ctx.logger.warn({ err: error, messageId: message.id }, 'status lookup failed');
      }
    }
  };
  await Promise.all(Array.from({ length: ctx.options.lookupConcurrency }, worker));
  return events;
}

/** Lookups have their own budget per traffic account (`ta-<id>-lookup`): they never starve sends. */
async function waitForBudget(ctx: Context, trafficAccountId: string): Promise<void> {
  if (!ctx.limiter) return;
  for (;;) {
    const decision = await ctx.limiter.take(lookupKey(trafficAccountId), 1);
    if (decision.ok) return;
    await new Promise((resolve) => setTimeout(resolve, decision.retryAfterMs));
  }
}
