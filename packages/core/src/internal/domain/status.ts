// The message, campaign and batch state machines. Every state change in the pipeline and in
// every store goes through `isTransitionAllowed`, so a late or duplicate event can never move a
// message backwards.

export const MESSAGE_STATUSES = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'failed',
  'unknown',
  'skipped',
  'cancelled',
] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const CAMPAIGN_STATUSES = [
  'draft',
  'scheduled',
  'sending',
  'paused',
  'completed',
  'failed',
  'cancelled',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/**
 * `planned`: cut by the planner, no job yet. `queued`: a job was released for it. `sending`: a
 * worker holds a claim. `completed` / `failed` / `unknown`: nothing of it is queued or sending
 * any more (`unknown` when an ambiguous send left messages unresolved). `cancelled`: its campaign
 * was cancelled before it was sent.
 */
export const BATCH_STATUSES = [
  'planned',
  'queued',
  'sending',
  'completed',
  'failed',
  'unknown',
  'cancelled',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/**
 * Allowed message transitions. Two edges go "back" on purpose and only through explicit
 * operations: `sending → queued` (a transient failure before anything was sent; `retryCount` + 1)
 * and `failed → queued` (retry-failed, for retryable reasons only).
 */
export const MESSAGE_TRANSITIONS: Readonly<Record<MessageStatus, readonly MessageStatus[]>> = {
  queued: ['sending', 'skipped', 'cancelled'],
  sending: ['sent', 'failed', 'unknown', 'queued', 'skipped'],
  unknown: ['sent', 'delivered', 'failed'],
  sent: ['delivered', 'failed'],
  delivered: [],
  failed: ['queued'],
  skipped: [],
  cancelled: [],
};

export function isTransitionAllowed(from: MessageStatus, to: MessageStatus): boolean {
  return MESSAGE_TRANSITIONS[from].includes(to);
}

/** Statuses a message can still leave through the send protocol (not through a DLR). */
export const IN_FLIGHT_STATUSES: readonly MessageStatus[] = ['queued', 'sending', 'unknown'];

export const CAMPAIGN_TRANSITIONS: Readonly<Record<CampaignStatus, readonly CampaignStatus[]>> = {
  draft: ['scheduled', 'sending', 'cancelled'],
  scheduled: ['scheduled', 'sending', 'cancelled'],
  sending: ['paused', 'completed', 'failed', 'cancelled'],
  paused: ['sending', 'cancelled'],
  completed: ['sending'],
  failed: ['sending'],
  cancelled: [],
};

export function isCampaignTransitionAllowed(from: CampaignStatus, to: CampaignStatus): boolean {
  return CAMPAIGN_TRANSITIONS[from].includes(to);
}

export type MessageCounts = Record<MessageStatus, number>;

export function emptyCounts(): MessageCounts {
  return {
    queued: 0,
    sending: 0,
    sent: 0,
    delivered: 0,
    failed: 0,
    unknown: 0,
    skipped: 0,
    cancelled: 0,
  };
}
