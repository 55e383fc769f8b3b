// Credits follow message transitions: a message the provider accepted captures its cost from
// its hold; one that ends without being accepted releases it. One capture and one release per
// hold per step, with entry ids derived from the step, so a retried step is a no-op.

import { createHash } from 'node:crypto';
import type { CampaignRecord } from '../domain/types.js';
import type { AppliedTransition } from '../ports/campaign-store.js';
import type { EntryMeta, Hold } from '../ports/credit-ledger.js';
import { type Context, testHoldIdOf } from './context.js';

const RELEASING_FROM = new Set(['queued', 'sending', 'unknown']);
const RELEASING_TO = new Set(['failed', 'skipped', 'cancelled']);

interface HoldMoves {
  holdId: string;
  capture: number;
  release: number;
  meta: EntryMeta;
  /** Test sends have a hold of their own, closed once the message is settled. */
  closeWhenDone: boolean;
}

/** A short stable id for a set of transitions: the same step retried gets the same entries. */
export function stepId(prefix: string, applied: readonly { id: string; to: string }[]): string {
  const hash = createHash('sha1');
  for (const t of applied) hash.update(`${t.id}>${t.to};`);
  return `${prefix}-${hash.digest('base64url').slice(0, 16)}`;
}

/**
 * Captures and releases what `applied` owes. `step` names the entries (an attempt id, or a
 * `stepId`). Campaign records are looked up once per campaign, unless the caller knows it.
 */
export async function settleCredits(
  ctx: Context,
  applied: readonly AppliedTransition[],
  step: string,
  known?: CampaignRecord,
): Promise<void> {
  const moves = new Map<string, HoldMoves>();
  const campaigns = new Map<string, CampaignRecord | null>(known ? [[known.id, known]] : []);
  for (const t of applied) {
    const capture = t.acceptedNow ? t.cost : 0;
    const release =
      !t.acceptedNow && RELEASING_FROM.has(t.from) && RELEASING_TO.has(t.to) ? t.cost : 0;
    if (capture === 0 && release === 0) continue;
    let holdId: string | null;
    let closeWhenDone = false;
    if (t.campaignId === null) {
      holdId = testHoldIdOf(t.id);
      closeWhenDone = true;
    } else {
      if (!campaigns.has(t.campaignId)) {
        campaigns.set(t.campaignId, await ctx.store.getCampaign(t.campaignId));
      }
      holdId = campaigns.get(t.campaignId)?.holdId ?? null;
    }
    if (holdId === null) {
      ctx.logger.error({ messageId: t.id, campaignId: t.campaignId }, 'message without a hold');
      continue;
    }
    const entry = moves.get(holdId) ?? {
      holdId,
      capture: 0,
      release: 0,
      meta: t.campaignId === null ? { messageId: t.id } : { campaignId: t.campaignId },
      closeWhenDone,
    };
    entry.capture += capture;
    entry.release += release;
    moves.set(holdId, entry);
  }
  for (const move of moves.values()) {
    await applyHoldMoves(ctx, move, step);
  }
}

async function applyHoldMoves(ctx: Context, move: HoldMoves, step: string): Promise<void> {
  const { holdId, meta } = move;
  try {
    let hold: Hold | null = null;
    if (move.capture > 0) {
      hold = await ctx.ledger.capture(holdId, move.capture, `${step}-cap`, {
        ...meta,
        reason: 'accepted by provider',
      });
    }
    if (move.closeWhenDone) {
      hold = await ctx.ledger.release(
        holdId,
        { entryId: `${step}-close` },
        { ...meta, reason: 'settled' },
      );
    } else if (move.release > 0) {
      hold = await ctx.ledger.release(
        holdId,
        { amount: move.release, entryId: `${step}-rel` },
        { ...meta, reason: 'not sent' },
      );
    }
    ctx.logger.debug(
      { holdId, capture: move.capture, release: move.release, hold },
      'credits moved',
    );
  } catch (error) {
    // The messages' states are already stored; settling the campaign reconciles the hold with
    // `acceptedCost`, so a failed ledger call is logged, counted and left to that repair.
    ctx.metrics.increment('smsbatch_ledger_errors_total');
    ctx.logger.error({ err: error, ...move }, 'ledger update failed; left to settlement');
  }
}

/** `smsbatch_messages_total` by new status: one call per status, not one per message. */
export function countTransitions(
  ctx: Context,
  applied: readonly AppliedTransition[],
  via: 'send' | 'report' | 'reconciler',
): void {
  const byStatus = new Map<string, number>();
  for (const t of applied) byStatus.set(t.to, (byStatus.get(t.to) ?? 0) + 1);
  for (const [status, count] of byStatus) {
    ctx.metrics.increment('smsbatch_messages_total', count, { status, via });
  }
}
