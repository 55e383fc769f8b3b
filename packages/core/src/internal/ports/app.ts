// Ports the app provides: where audiences come from, who opted out, who may send, and an
// owner's defaults. Each has an in-memory implementation in core.

import type { Recipient } from '../domain/types.js';

/** Recipients of a campaign, streamed: never the whole audience in memory. */
export type AudienceSource = AsyncIterable<Recipient> | Iterable<Recipient>;

export interface SuppressionList {
  /** The subset of `phones` (E.164) that opted out for this owner. */
  filterSuppressed(ownerId: string, phones: readonly string[]): Promise<ReadonlySet<string>>;
}

export type SubscriptionDecision = { isAllowed: true } | { isAllowed: false; reason: string };

export interface SubscriptionGuard {
  check(ownerId: string): Promise<SubscriptionDecision>;
}

export interface OwnerSettings {
  sender?: string | null;
  trafficAccountId?: string | null;
}

/** An owner's defaults, between the campaign's own and the config's in sender resolution. */
export interface OwnerDirectory {
  getSettings(ownerId: string): Promise<OwnerSettings | null>;
}

/**
 * Builds the link appended to a message (unsubscribe, tracking). Must be deterministic for a
 * given owner/campaign/contact so that preparing a message twice gives the same text (the cost
 * reserved at enqueue is computed from the same text the planner sends).
 */
export type LinkBuilder = (context: {
  ownerId: string;
  campaignId: string | null;
  contactId: string | null;
}) => string | null;
