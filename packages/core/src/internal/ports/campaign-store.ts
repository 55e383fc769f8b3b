// The CampaignStore port: campaigns, their recipients, messages, batches and delivery events.
// Every method works on many rows at once (one round trip per call in a SQL adapter), so the
// pipeline never touches a message one at a time. The conformance kit
// (`describeCampaignStore` in `@smsbatch/core/testing`) states the contract as tests.

import type { CampaignStatus, MessageStatus } from '../domain/status.js';
import type {
  BatchPatch,
  BatchRecord,
  CampaignPatch,
  CampaignRecord,
  ClaimedMessage,
  MessageRecord,
  NewBatch,
  NewCampaign,
  NewMessage,
  Page,
  PlanCursor,
  RecipientRow,
  StoredDeliveryEvent,
} from '../domain/types.js';

export interface PlanChunk {
  campaignId: string;
  /** Applied only if the campaign's cursor still equals this (compare-and-set)... */
  expected: PlanCursor;
  /** ...and its status is one of these (a cancelled campaign takes no new messages). */
  ifStatus: readonly CampaignStatus[];
  next: PlanCursor;
  /** Queued messages (with their `batchNo`) and skipped ones (with their reason in `error`). */
  messages: readonly NewMessage[];
  /** Batches this chunk closed, inserted `planned` with `counts.queued = size`. */
  batches: readonly NewBatch[];
}

export type ClaimTarget =
  | { campaignId: string; batchNo: number }
  | { messageIds: readonly string[] };

export interface ClaimOptions {
  attemptId: string;
  leaseUntil: number;
  now: number;
}

/** Fields a transition may set besides `status`. */
export interface TransitionFields {
  error?: string | null;
  isRetryable?: boolean;
  providerMessageId?: string;
  bulkId?: string | null;
  /** Marks the message accepted by the provider (once; `acceptedCost` grows by its cost). */
  accept?: boolean;
  /** `sending → queued`: add one to `retryCount` and clear the claim. */
  incrementRetry?: boolean;
}

export interface MessageTransition {
  id: string;
  /** Compare-and-set guard: applied only if the message is in one of these statuses. */
  from: MessageStatus | readonly MessageStatus[];
  /** Further guard: applied only if the message carries this attempt id. */
  attemptId?: string;
  to: MessageStatus;
  set?: TransitionFields;
}

/** A transition that took effect. */
export interface AppliedTransition {
  id: string;
  kind: MessageRecord['kind'];
  campaignId: string | null;
  batchNo: number | null;
  ownerId: string;
  from: MessageStatus;
  to: MessageStatus;
  cost: number;
  /** The message became accepted by this transition. */
  acceptedNow: boolean;
}

export interface MessageScan {
  status: MessageStatus;
  kind?: MessageRecord['kind'];
  campaignId?: string;
  /** `updatedAt` strictly before this. */
  updatedBefore?: number;
  /** `sending` only: lease expired strictly before this. */
  leaseExpiredBefore?: number;
  /** `sent` only: `lastLookupAt` is null or strictly before this. */
  lookedUpBefore?: number;
  /** `sent` only: fewer lookups than this. */
  maxLookups?: number;
  bulkId?: string;
  limit: number;
}

export interface BulkChange {
  count: number;
  cost: number;
}

export interface CampaignStore {
  // campaigns
  /** Throws if the id exists. */
  createCampaign(campaign: NewCampaign): Promise<CampaignRecord>;
  getCampaign(id: string): Promise<CampaignRecord | null>;
  /** Newest first; cursor-paged. */
  listCampaigns(query: {
    ownerId?: string;
    statuses?: readonly CampaignStatus[];
    limit: number;
    cursor?: string | null;
  }): Promise<Page<CampaignRecord>>;
  /** Returns null when the campaign is missing or its status is not in `ifStatus`. */
  updateCampaign(
    id: string,
    patch: CampaignPatch,
    guard?: { ifStatus?: readonly CampaignStatus[] },
  ): Promise<CampaignRecord | null>;

  // recipients
  /** Inserts rows numbered by `seq`; a row whose seq exists is ignored. */
  insertRecipients(campaignId: string, rows: readonly RecipientRow[]): Promise<void>;
  /** Rows with `seq >= fromSeq`, in seq order. */
  readRecipients(campaignId: string, fromSeq: number, limit: number): Promise<RecipientRow[]>;

  // planning
  /** Which of `phones` already belong to a non-skipped message of the campaign. */
  findTakenPhones(campaignId: string, phones: readonly string[]): Promise<string[]>;
  /** Atomically: check the cursor, insert messages and closed batches, advance the cursor. */
  appendPlanChunk(chunk: PlanChunk): Promise<boolean>;

  // batches
  /**
   * Atomically moves the oldest `planned` batches to `queued` (bumping `releases`), as many as
   * keep the campaign's `queued` + `sending` batches within `window`. Returns them.
   */
  releaseBatches(campaignId: string, window: number): Promise<BatchRecord[]>;
  getBatch(campaignId: string, batchNo: number): Promise<BatchRecord | null>;
  /** In batch order; cursor-paged. */
  listBatches(
    campaignId: string,
    query: { statuses?: readonly BatchRecord['status'][]; limit: number; cursor?: string | null },
  ): Promise<Page<BatchRecord>>;
  updateBatch(
    campaignId: string,
    batchNo: number,
    patch: BatchPatch,
    guard?: { ifStatus?: readonly BatchRecord['status'][] },
  ): Promise<BatchRecord | null>;

  // messages
  /** Test messages (no campaign). */
  insertMessages(messages: readonly NewMessage[]): Promise<void>;
  getMessage(id: string): Promise<MessageRecord | null>;
  /** Messages by id and/or provider message id (delivery report matching). */
  findMessages(query: {
    ids?: readonly string[];
    providerMessageIds?: readonly string[];
  }): Promise<MessageRecord[]>;
  /** A campaign's messages in seq order; cursor-paged. */
  listMessages(
    campaignId: string,
    query: { status?: MessageStatus; batchNo?: number; limit: number; cursor?: string | null },
  ): Promise<Page<MessageRecord>>;
  /** Messages matching a maintenance query, oldest first. */
  scanMessages(scan: MessageScan): Promise<MessageRecord[]>;
  /**
   * Atomically moves the target's `queued` messages to `sending` with the attempt id and lease.
   * Messages in any other status are left alone, so two claimers never share a message. A batch
   * whose messages were claimed becomes `sending`, and a batch claim counts one more `attempts`
   * and records its `attemptId` on the batch.
   */
  claimMessages(target: ClaimTarget, options: ClaimOptions): Promise<ClaimedMessage[]>;
  /**
   * Applies every transition whose guards hold, in one write; returns those that did. Campaign and
   * batch counts move with them, and each touched batch's `updatedAt` becomes `now`.
   */
  applyTransitions(
    transitions: readonly MessageTransition[],
    options: { now: number },
  ): Promise<AppliedTransition[]>;
  /**
   * All `queued` messages of a campaign → `cancelled`; its `planned`/`queued` batches with nothing
   * left `sending` → `cancelled`.
   */
  cancelQueued(campaignId: string, options: { now: number }): Promise<BulkChange>;
  /**
   * `failed` messages with `isRetryable` → `queued` (error cleared), and their batches back to
   * `planned`. Returns what moved.
   */
  requeueFailed(campaignId: string, options: { now: number }): Promise<BulkChange>;
  /** Records a lookup of these messages (status refresh never polls one forever). */
  markLookedUp(ids: readonly string[], options: { now: number }): Promise<void>;

  // delivery events
  /** Stores events deduplicated by `key`; returns the ones that were new. */
  recordDeliveryEvents(events: readonly StoredDeliveryEvent[]): Promise<StoredDeliveryEvent[]>;
  /** Unprocessed events, by any of the given handles, or all received before `receivedBefore`. */
  listPendingDeliveryEvents(query: {
    references?: readonly string[];
    providerMessageIds?: readonly string[];
    receivedBefore?: number;
    limit: number;
  }): Promise<StoredDeliveryEvent[]>;
  markDeliveryEventsProcessed(keys: readonly string[], options: { now: number }): Promise<void>;
}
