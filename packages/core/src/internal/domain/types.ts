// Records the stores keep. Times are epoch milliseconds inside the SDK; the HTTP layer turns
// them into ISO 8601 strings. Credits are integers.

import type { BatchStatus, CampaignStatus, MessageCounts, MessageStatus } from './status.js';

export type Encoding = 'GSM-7' | 'UCS-2';

/** A recipient as an app hands it over: one row of an audience. */
export interface Recipient {
  phone: string;
  contactId?: string | null;
  vars?: Readonly<Record<string, string>>;
}

/**
 * A recipient as stored for a campaign, numbered in audience order (`seq` from 0). Phones are
 * normalised when the campaign is created: `phone` is E.164, or the input as given with the
 * reason in `phoneError`.
 */
export interface RecipientRow {
  seq: number;
  phone: string;
  phoneError: string | null;
  contactId: string | null;
  vars: Readonly<Record<string, string>>;
}

/** Where the planner stands in a campaign's audience; advanced atomically per chunk. */
export interface PlanCursor {
  /** Recipients with `seq` below this were planned. */
  nextSeq: number;
  /** Sendable (queued) messages planned so far: their ordinal decides their batch. */
  planned: number;
  /** Chunks applied so far. */
  chunkNo: number;
  /** Cost of the queued messages planned so far; planning never exceeds the hold. */
  plannedCost: number;
  /** True once the whole audience was planned and the last batch closed. */
  done: boolean;
}

export interface CampaignRecord {
  id: string;
  ownerId: string;
  name: string;
  /** The template, with `{{vars}}`. */
  text: string;
  sender: string;
  trafficAccountId: string;
  status: CampaignStatus;
  /** Recipients stored for the campaign. */
  total: number;
  /** Upper bound of the campaign's cost, reserved as one hold at enqueue. */
  estimatedCost: number;
  /** The open hold, `null` before enqueue. */
  holdId: string | null;
  /** Bumped by retry-failed, which reserves a fresh hold. */
  holdGeneration: number;
  /** Messages per batch, fixed when the campaign is created. */
  batchSize: number;
  plan: PlanCursor;
  /** Bumped by every (re)schedule; a delayed planner job of an older version is stale. */
  scheduleVersion: number;
  scheduledAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** Maintained by the store on every message transition, never recounted. */
  counts: MessageCounts;
  /** Sum of `cost` over messages the provider accepted; what the hold must have captured. */
  acceptedCost: number;
}

export type NewCampaign = Omit<CampaignRecord, 'counts' | 'acceptedCost' | 'updatedAt'>;

export type CampaignPatch = Partial<
  Pick<
    CampaignRecord,
    | 'status'
    | 'holdId'
    | 'holdGeneration'
    | 'scheduleVersion'
    | 'scheduledAt'
    | 'startedAt'
    | 'finishedAt'
    | 'total'
    | 'estimatedCost'
    | 'batchSize'
    | 'updatedAt'
  >
>;

export type MessageKind = 'campaign' | 'test';

export interface MessageRecord {
  /** For campaign messages `${campaignId}-${seq}`; sent to Mitto as `reference`. */
  id: string;
  kind: MessageKind;
  campaignId: string | null;
  ownerId: string;
  seq: number;
  batchNo: number | null;
  contactId: string | null;
  /** E.164 when valid; the input as given when the message was skipped as invalid. */
  phone: string;
  text: string;
  sender: string;
  trafficAccountId: string;
  encoding: Encoding;
  segments: number;
  cost: number;
  status: MessageStatus;
  error: string | null;
  /** For `failed` messages: would sending again make sense (retry-failed picks these). */
  isRetryable: boolean;
  /** True once the provider accepted the message; its cost is then owed. */
  isAccepted: boolean;
  retryCount: number;
  attemptId: string | null;
  leaseExpiresAt: number | null;
  bulkId: string | null;
  providerMessageId: string | null;
  lookupCount: number;
  lastLookupAt: number | null;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
  deliveredAt: number | null;
  failedAt: number | null;
}

export type NewMessage = Omit<
  MessageRecord,
  | 'attemptId'
  | 'leaseExpiresAt'
  | 'bulkId'
  | 'providerMessageId'
  | 'lookupCount'
  | 'lastLookupAt'
  | 'updatedAt'
  | 'sentAt'
  | 'deliveredAt'
  | 'failedAt'
  | 'isAccepted'
  | 'retryCount'
>;

/** What a claim hands to the sender: enough to send, nothing more. */
export type ClaimedMessage = Pick<
  MessageRecord,
  | 'id'
  | 'campaignId'
  | 'ownerId'
  | 'batchNo'
  | 'contactId'
  | 'phone'
  | 'text'
  | 'sender'
  | 'trafficAccountId'
  | 'segments'
  | 'cost'
  | 'retryCount'
>;

/** The seed's `BulkSendJob`: one bulk call's worth of a campaign. */
export interface BatchRecord {
  campaignId: string;
  batchNo: number;
  /** Messages cut into the batch by the planner. */
  size: number;
  segments: number;
  cost: number;
  status: BatchStatus;
  /** Times a job was released for it; part of the job id so a re-release is a new job. */
  releases: number;
  /** Claims made for it (send attempts). */
  attempts: number;
  /** The attempt of its latest claim (set by the store when the batch is claimed). */
  attemptId: string | null;
  /**
   * The latest attempt handed to the provider, recorded right before the call: a claim that never
   * got here was never sent, so the reconciler may put its messages back.
   */
  dispatchedAttemptId: string | null;
  bulkId: string | null;
  lastError: string | null;
  /** Maintained by the store on every transition of its messages. */
  counts: MessageCounts;
  createdAt: number;
  updatedAt: number;
}

export type NewBatch = Pick<BatchRecord, 'batchNo' | 'size' | 'segments' | 'cost'>;

export type BatchPatch = Partial<
  Pick<
    BatchRecord,
    | 'status'
    | 'bulkId'
    | 'lastError'
    | 'releases'
    | 'attempts'
    | 'dispatchedAttemptId'
    | 'updatedAt'
  >
>;

export type DeliveryState = 'sent' | 'delivered' | 'failed';

/** A delivery report or lookup answer, parsed into the SDK's terms. */
export interface DeliveryEvent {
  providerMessageId: string | null;
  /** The `reference` we sent: our message id. */
  reference: string | null;
  state: DeliveryState;
  /** The provider's own word, as received. */
  providerStatus: string;
  reason: string | null;
  /** When the provider says it happened (epoch ms), if it says. */
  occurredAt: number | null;
}

/** A delivery event as the store keeps it: deduplicated by `key`, pending until processed. */
export interface StoredDeliveryEvent extends DeliveryEvent {
  key: string;
  source: 'webhook' | 'lookup';
  raw: unknown;
  receivedAt: number;
  processedAt: number | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
