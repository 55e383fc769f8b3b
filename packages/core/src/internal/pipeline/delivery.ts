// Delivery reports (webhook DLRs and lookup answers) applied to messages: stored once by key
// (duplicates are no-ops), matched by provider message id or by our reference, moved forward
// only. An event for a message whose send result is not stored yet stays pending and is applied
// when the result is recorded (or by the reconciler's sweep).

import { createHash } from 'node:crypto';
import { isTransitionAllowed, type MessageStatus } from '../domain/status.js';
import type { DeliveryEvent, MessageRecord, StoredDeliveryEvent } from '../domain/types.js';
import type { MessageTransition } from '../ports/campaign-store.js';
import { countTransitions, settleCredits, stepId } from './accounting.js';
import type { Context } from './context.js';

/** Messages in these statuses have no stored send result yet: their events wait. */
const NOT_RECORDED: readonly MessageStatus[] = ['queued', 'sending'];

export interface DeliveryReportSummary {
  /** Events stored for the first time. */
  received: number;
  duplicates: number;
  /** Events that moved a message. */
  applied: number;
  /** Events kept until their message's send result is stored. */
  pending: number;
}

export function eventKey(event: DeliveryEvent): string {
  return createHash('sha1')
    .update(
      [
        event.providerMessageId ?? '',
        event.reference ?? '',
        event.state,
        event.providerStatus.toLowerCase(),
        event.occurredAt ?? '',
      ].join('|'),
    )
    .digest('base64url');
}

export async function receiveDeliveryEvents(
  ctx: Context,
  events: readonly DeliveryEvent[],
  source: StoredDeliveryEvent['source'],
  raw: readonly unknown[] = [],
): Promise<DeliveryReportSummary> {
  const now = ctx.clock.now();
  const stored = events.map(
    (event, i): StoredDeliveryEvent => ({
      providerMessageId: event.providerMessageId,
      reference: event.reference,
      state: event.state,
      providerStatus: event.providerStatus,
      reason: event.reason,
      occurredAt: event.occurredAt,
      key: eventKey(event),
      source,
      raw: raw[i] ?? null,
      receivedAt: now,
      processedAt: null,
    }),
  );
  const fresh = await ctx.store.recordDeliveryEvents(stored);
  const result = await processDeliveryEvents(ctx, fresh);
  ctx.metrics.increment('smsbatch_delivery_events_total', fresh.length, { source });
  return {
    received: fresh.length,
    duplicates: stored.length - fresh.length,
    applied: result.applied,
    pending: result.pending,
  };
}

/** Applies stored, unprocessed events; returns how many moved a message and how many wait. */
export async function processDeliveryEvents(
  ctx: Context,
  events: readonly StoredDeliveryEvent[],
): Promise<{ applied: number; pending: number }> {
  if (events.length === 0) return { applied: 0, pending: 0 };
  const messages = await ctx.store.findMessages({
    ids: events.flatMap((e) => (e.reference === null ? [] : [e.reference])),
    providerMessageIds: events.flatMap((e) =>
      e.providerMessageId === null ? [] : [e.providerMessageId],
    ),
  });
  const byId = new Map(messages.map((m) => [m.id, m]));
  const byProviderId = new Map(
    messages.flatMap((m) => (m.providerMessageId === null ? [] : [[m.providerMessageId, m]])),
  );

  // Fold every event of one message into one move, oldest stage first, so a body holding both
  // `sent` and `delivered` ends at `delivered` whatever order they arrived in.
  const plans = new Map<
    string,
    { message: MessageRecord; to: MessageStatus; event: StoredDeliveryEvent }
  >();
  const keysByMessage = new Map<string, string[]>();
  const processed: string[] = [];
  let pending = 0;
  for (const event of [...events].sort(byStage)) {
    const message =
      (event.providerMessageId !== null ? byProviderId.get(event.providerMessageId) : undefined) ??
      (event.reference !== null ? byId.get(event.reference) : undefined);
    if (!message || NOT_RECORDED.includes(message.status)) {
      pending += 1;
      continue;
    }
    const from = plans.get(message.id)?.to ?? message.status;
    if (isTransitionAllowed(from, event.state)) {
      plans.set(message.id, { message, to: event.state, event });
      keysByMessage.set(message.id, [...(keysByMessage.get(message.id) ?? []), event.key]);
    } else {
      // A duplicate or a late report (a `sent` after `delivered`): nothing to do, ever.
      processed.push(event.key);
    }
  }

  const transitions = [...plans.values()].map(
    ({ message, to, event }): MessageTransition => ({
      id: message.id,
      from: message.status,
      to,
      set: {
        // A report for an `unknown` message proves the provider took it: it is owed.
        ...(message.status === 'unknown' ? { accept: true } : {}),
        ...(message.providerMessageId === null && event.providerMessageId !== null
          ? { providerMessageId: event.providerMessageId }
          : {}),
        ...(to === 'failed'
          ? { error: event.reason ?? event.providerStatus, isRetryable: false }
          : {}),
      },
    }),
  );
  const now = ctx.clock.now();
  const applied = await ctx.store.applyTransitions(transitions, { now });
  await settleCredits(ctx, applied, stepId('dlr', applied));
  // A move that lost a race (the message changed meanwhile) keeps its events pending: the
  // reconciler tries them again against the new status.
  for (const t of applied) processed.push(...(keysByMessage.get(t.id) ?? []));
  pending += transitions.length - applied.length;
  await ctx.store.markDeliveryEventsProcessed(processed, { now });
  countTransitions(ctx, applied, 'report');
  return { applied: applied.length, pending };
}

/** Events that arrived before these messages' send results: apply them now. */
export async function processPendingFor(
  ctx: Context,
  messages: readonly { id: string; providerMessageId?: string | null }[],
): Promise<void> {
  if (messages.length === 0) return;
  const events = await ctx.store.listPendingDeliveryEvents({
    references: messages.map((m) => m.id),
    providerMessageIds: messages.flatMap((m) => (m.providerMessageId ? [m.providerMessageId] : [])),
    limit: messages.length * 4,
  });
  await processDeliveryEvents(ctx, events);
}

const STAGE: Record<StoredDeliveryEvent['state'], number> = { sent: 0, delivered: 1, failed: 1 };

function byStage(a: StoredDeliveryEvent, b: StoredDeliveryEvent): number {
  return STAGE[a.state] - STAGE[b.state] || (a.occurredAt ?? 0) - (b.occurredAt ?? 0);
}
