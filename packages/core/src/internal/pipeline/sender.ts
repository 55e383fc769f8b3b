// Claim → send → record → settle credits, for a campaign batch (one bulk call), a single message
// (`USE_BULK_SMS=false`) or a test send. Whatever the provider answers becomes message states in
// one store write; an answer we could not store leaves the messages `unknown`, never resent.

import type { CampaignRecord, ClaimedMessage } from '../domain/types.js';
import type { MessageTransition } from '../ports/campaign-store.js';
import type {
  OutboundSms,
  ProviderFailure,
  SendOutcome,
  SmsProvider,
} from '../ports/sms-provider.js';
import { countTransitions, settleCredits } from './accounting.js';
import { backoffMs, type Context, randomToken } from './context.js';
import { processPendingFor } from './delivery.js';
import { ownerKey, trafficAccountKey } from './rate-keys.js';

export type SendMode = 'bulk' | 'one';

export interface AttemptResult {
  /** Messages back in `queued` for a transient failure: the job should run again after `retryInMs`. */
  requeued: number;
  retryInMs: number;
  bulkId: string | null;
  error: string | null;
}

/** Reads the send state off any error; one that does not say counts as maybe-sent. */
export function asProviderFailure(error: unknown): ProviderFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as Partial<ProviderFailure>;
  const sendState = e.sendState === 'not-sent' ? 'not-sent' : 'maybe-sent';
  return {
    sendState,
    isRetryable: sendState === 'not-sent' && e.isRetryable === true,
    retryAfterMs: typeof e.retryAfterMs === 'number' ? e.retryAfterMs : undefined,
    isRateLimited: e.isRateLimited === true,
  };
}

export const attemptIdFor = (prefix: string) => `${prefix}-${randomToken()}`;

/**
 * Takes budget for `weight` messages of an owner on a traffic account. The owner's own limit
 * (when configured) is taken first, so one merchant cannot drain a shared account.
 */
export async function takeBudget(
  ctx: Context,
  ownerId: string,
  trafficAccountId: string,
  weight: number,
): Promise<{ ok: true } | { ok: false; retryAfterMs: number }> {
  if (!ctx.limiter || weight <= 0) return { ok: true };
  const owner = await ctx.limiter.take(ownerKey(ownerId), weight);
  if (!owner.ok) return owner;
  return ctx.limiter.take(trafficAccountKey(trafficAccountId), weight);
}

/** Sends claimed messages and stores the outcome. Runs after a successful claim. */
export async function sendAndRecord(
  ctx: Context,
  claimed: readonly ClaimedMessage[],
  attemptId: string,
  mode: SendMode,
  attempt: number,
  /** The messages' campaign, when the caller has read it (saves a read per step). */
  campaign?: CampaignRecord,
): Promise<AttemptResult> {
  const log = ctx.logger.child({ attemptId, messages: claimed.length });
  const sendable = await dropSuppressed(ctx, claimed, attemptId, campaign);
  if (sendable.length === 0) return { requeued: 0, retryInMs: 0, bulkId: null, error: null };

  const first = sendable[0]!;
  if (mode === 'bulk' && first.campaignId !== null && first.batchNo !== null) {
    // From here on the messages may be sent: a crash before this line leaves them safe to resend.
    await ctx.store.updateBatch(first.campaignId, first.batchNo, {
      dispatchedAttemptId: attemptId,
    });
  }
  const started = ctx.clock.now();
  const outcome = await callProvider(ctx.provider, sendable, mode, ctx.options.leaseMs);
  ctx.metrics.observe('smsbatch_send_duration_ms', ctx.clock.now() - started, { mode });

  let transitions: MessageTransition[];
  const result: AttemptResult = { requeued: 0, retryInMs: 0, bulkId: null, error: null };
  if (outcome.kind === 'answered') {
    result.bulkId = outcome.bulkId;
    transitions = sendable.map((message, i) =>
      resultTransition(message, outcome.results[i]!, outcome.bulkId, attemptId),
    );
  } else {
    const failure = asProviderFailure(outcome.error);
    const reason = describe(outcome.error);
    result.error = reason;
    if (failure.sendState === 'maybe-sent') {
      log.warn({ err: outcome.error }, 'provider answer lost: messages unknown until reported');
      transitions = sendable.map((m) => ({
        id: m.id,
        from: 'sending',
        attemptId,
        to: 'unknown',
        set: { error: `ambiguous: ${reason}` },
      }));
    } else if (failure.isRetryable) {
      if (failure.isRateLimited && ctx.limiter && failure.retryAfterMs !== undefined) {
        await ctx.limiter.backoff(
          trafficAccountKey(sendable[0]!.trafficAccountId),
          failure.retryAfterMs,
        );
      }
      transitions = sendable.map((m) =>
        m.retryCount + 1 >= ctx.options.maxSendAttempts
          ? {
              id: m.id,
              from: 'sending',
              attemptId,
              to: 'failed',
              set: {
                error: `gave up after ${m.retryCount + 1} attempts: ${reason}`,
                isRetryable: true,
              },
            }
          : {
              id: m.id,
              from: 'sending',
              attemptId,
              to: 'queued',
              set: { error: reason, incrementRetry: true },
            },
      );
      result.retryInMs = Math.max(
        failure.retryAfterMs ?? 0,
        backoffMs(attempt, ctx.options.retryBaseMs, ctx.options.retryMaxMs),
      );
      log.warn(
        { err: outcome.error, retryInMs: result.retryInMs },
        'transient provider error: requeued',
      );
    } else {
      log.warn({ err: outcome.error }, 'provider refused the request: messages failed');
      transitions = sendable.map((m) => ({
        id: m.id,
        from: 'sending',
        attemptId,
        to: 'failed',
        set: { error: reason, isRetryable: false },
      }));
    }
  }

  const applied = await record(ctx, transitions, attemptId, log);
  if (applied === null) return result;
  result.requeued = applied.filter((t) => t.to === 'queued').length;
  countTransitions(ctx, applied, 'send');
  await settleCredits(ctx, applied, attemptId, campaign);
  if (outcome.kind === 'answered') {
    await processPendingFor(
      ctx,
      transitions.map((t) => ({ id: t.id, providerMessageId: t.set?.providerMessageId ?? null })),
    );
  }
  return result;
}

type ProviderOutcome =
  | { kind: 'answered'; bulkId: string | null; results: SendOutcome[] }
  | { kind: 'error'; error: unknown };

async function callProvider(
  provider: SmsProvider,
  messages: readonly ClaimedMessage[],
  mode: SendMode,
  leaseMs: number,
): Promise<ProviderOutcome> {
  // Past the lease the messages may already be `unknown`; stop waiting before that.
  const signal = AbortSignal.timeout(Math.max(1, leaseMs - 1000));
  const outbound = messages.map(toOutbound);
  try {
    if (mode === 'one') {
      if (outbound.length !== 1) throw new Error('single sends take exactly one message');
      const result = await provider.sendOne(outbound[0]!, { signal });
      return { kind: 'answered', bulkId: null, results: [result] };
    }
    const answer = await provider.sendBulk(outbound, { signal });
    if (answer.results.length !== outbound.length) {
      return {
        kind: 'error',
        error: new Error(
          `provider answered ${answer.results.length} results for ${outbound.length} messages`,
        ),
      };
    }
    return { kind: 'answered', bulkId: answer.bulkId, results: answer.results };
  } catch (error) {
    return { kind: 'error', error };
  }
}

function toOutbound(message: ClaimedMessage): OutboundSms {
  return {
    reference: message.id,
    destination: message.phone,
    text: message.text,
    sender: message.sender,
    trafficAccountId: message.trafficAccountId,
  };
}

function resultTransition(
  message: ClaimedMessage,
  result: SendOutcome,
  bulkId: string | null,
  attemptId: string,
): MessageTransition {
  if (result.status === 'accepted') {
    // `unknown` too: a lease that expired while we waited must not hide the provider's answer.
    return {
      id: message.id,
      from: ['sending', 'unknown'],
      attemptId,
      to: 'sent',
      set: { providerMessageId: result.providerMessageId, bulkId, accept: true, error: null },
    };
  }
  return {
    id: message.id,
    from: ['sending', 'unknown'],
    attemptId,
    to: 'failed',
    set: { error: result.reason, isRetryable: result.isRetryable, bulkId },
  };
}

/** Suppression is checked again right before sending: an opt-out since enqueue wins. */
async function dropSuppressed(
  ctx: Context,
  claimed: readonly ClaimedMessage[],
  attemptId: string,
  campaign: CampaignRecord | undefined,
): Promise<readonly ClaimedMessage[]> {
  if (!ctx.suppression || claimed.length === 0) return claimed;
  const ownerId = claimed[0]!.ownerId;
  const suppressed = await ctx.suppression.filterSuppressed(
    ownerId,
    claimed.map((m) => m.phone),
  );
  if (suppressed.size === 0) return claimed;
  const applied = await ctx.store.applyTransitions(
    claimed
      .filter((m) => suppressed.has(m.phone))
      .map((m) => ({
        id: m.id,
        from: 'sending',
        attemptId,
        to: 'skipped',
        set: { error: 'suppressed' },
      })),
    { now: ctx.clock.now() },
  );
  await settleCredits(ctx, applied, `${attemptId}-sup`, campaign);
  return claimed.filter((m) => !suppressed.has(m.phone));
}

/**
 * Stores the outcome. If that write fails after the provider answered, the messages are marked
 * `unknown` (a second, smaller write); if that fails too, their lease expires and the reconciler
 * does it. Either way they are never sent again blindly.
 */
async function record(
  ctx: Context,
  transitions: readonly MessageTransition[],
  attemptId: string,
  log: Context['logger'],
) {
  try {
    return await ctx.store.applyTransitions(transitions, { now: ctx.clock.now() });
  } catch (error) {
    log.error({ err: error }, 'could not record the send outcome: marking messages unknown');
    ctx.metrics.increment('smsbatch_record_failures_total');
    try {
      await ctx.store.applyTransitions(
        transitions.map((t) => ({
          id: t.id,
          from: 'sending',
          attemptId,
          to: 'unknown',
          set: { error: 'outcome not recorded' },
        })),
        { now: ctx.clock.now() },
      );
    } catch (again) {
      log.error({ err: again }, 'could not mark messages unknown: left to lease expiry');
    }
    return null;
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
