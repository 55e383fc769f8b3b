// Turns database rows into the records of the ports. node-postgres returns `bigint` columns as
// strings (they may exceed 2^53); epoch milliseconds and credits never do, so they become numbers.

import {
  type AppliedTransition,
  type BatchRecord,
  type CampaignRecord,
  type ClaimedMessage,
  MESSAGE_STATUSES,
  type MessageCounts,
  type MessageRecord,
  type RecipientRow,
  type StoredDeliveryEvent,
} from '@smsbatch/core';
import type { Row } from './db.js';

const num = (value: unknown): number => Number(value);
const numOrNull = (value: unknown): number | null => (value === null ? null : Number(value));
const str = (value: unknown): string => value as string;
const strOrNull = (value: unknown): string | null => value as string | null;

function countsOf(row: Row): MessageCounts {
  return Object.fromEntries(
    MESSAGE_STATUSES.map((status) => [status, num(row[`count_${status}`])]),
  ) as MessageCounts;
}

export function toCampaign(row: Row): CampaignRecord {
  return {
    id: str(row.id),
    ownerId: str(row.owner_id),
    name: str(row.name),
    text: str(row.text),
    sender: str(row.sender),
    trafficAccountId: str(row.traffic_account_id),
    status: row.status as CampaignRecord['status'],
    total: num(row.total),
    estimatedCost: num(row.estimated_cost),
    holdId: strOrNull(row.hold_id),
    holdGeneration: num(row.hold_generation),
    batchSize: num(row.batch_size),
    plan: {
      nextSeq: num(row.plan_next_seq),
      planned: num(row.plan_planned),
      chunkNo: num(row.plan_chunk_no),
      plannedCost: num(row.plan_planned_cost),
      done: row.plan_done as boolean,
    },
    scheduleVersion: num(row.schedule_version),
    scheduledAt: numOrNull(row.scheduled_at),
    startedAt: numOrNull(row.started_at),
    finishedAt: numOrNull(row.finished_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    counts: countsOf(row),
    acceptedCost: num(row.accepted_cost),
  };
}

export function toRecipient(row: Row): RecipientRow {
  return {
    seq: num(row.seq),
    phone: str(row.phone),
    phoneError: strOrNull(row.phone_error),
    contactId: strOrNull(row.contact_id),
    vars: (row.vars as Record<string, string> | null) ?? {},
  };
}

export function toBatch(row: Row): BatchRecord {
  return {
    campaignId: str(row.campaign_id),
    batchNo: num(row.batch_no),
    size: num(row.size),
    segments: num(row.segments),
    cost: num(row.cost),
    status: row.status as BatchRecord['status'],
    releases: num(row.releases),
    attempts: num(row.attempts),
    attemptId: strOrNull(row.attempt_id),
    dispatchedAttemptId: strOrNull(row.dispatched_attempt_id),
    bulkId: strOrNull(row.bulk_id),
    lastError: strOrNull(row.last_error),
    counts: countsOf(row),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
  };
}

export function toMessage(row: Row): MessageRecord {
  return {
    id: str(row.id),
    kind: row.kind as MessageRecord['kind'],
    campaignId: strOrNull(row.campaign_id),
    ownerId: str(row.owner_id),
    seq: num(row.seq),
    batchNo: numOrNull(row.batch_no),
    contactId: strOrNull(row.contact_id),
    phone: str(row.phone),
    text: str(row.text),
    sender: str(row.sender),
    trafficAccountId: str(row.traffic_account_id),
    encoding: row.encoding as MessageRecord['encoding'],
    segments: num(row.segments),
    cost: num(row.cost),
    status: row.status as MessageRecord['status'],
    error: strOrNull(row.error),
    isRetryable: row.is_retryable as boolean,
    isAccepted: row.is_accepted as boolean,
    retryCount: num(row.retry_count),
    attemptId: strOrNull(row.attempt_id),
    leaseExpiresAt: numOrNull(row.lease_expires_at),
    bulkId: strOrNull(row.bulk_id),
    providerMessageId: strOrNull(row.provider_message_id),
    lookupCount: num(row.lookup_count),
    lastLookupAt: numOrNull(row.last_lookup_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    sentAt: numOrNull(row.sent_at),
    deliveredAt: numOrNull(row.delivered_at),
    failedAt: numOrNull(row.failed_at),
  };
}

export function toClaimed(row: Row): ClaimedMessage {
  return {
    id: str(row.id),
    campaignId: strOrNull(row.campaign_id),
    ownerId: str(row.owner_id),
    batchNo: numOrNull(row.batch_no),
    contactId: strOrNull(row.contact_id),
    phone: str(row.phone),
    text: str(row.text),
    sender: str(row.sender),
    trafficAccountId: str(row.traffic_account_id),
    segments: num(row.segments),
    cost: num(row.cost),
    retryCount: num(row.retry_count),
  };
}

export function toApplied(row: Row): AppliedTransition {
  return {
    id: str(row.id),
    kind: row.kind as AppliedTransition['kind'],
    campaignId: strOrNull(row.campaign_id),
    batchNo: numOrNull(row.batch_no),
    ownerId: str(row.owner_id),
    from: row.from_status as AppliedTransition['from'],
    to: row.to_status as AppliedTransition['to'],
    cost: num(row.cost),
    acceptedNow: row.accepted_now as boolean,
  };
}

export function toDeliveryEvent(row: Row): StoredDeliveryEvent {
  return {
    key: str(row.key),
    providerMessageId: strOrNull(row.provider_message_id),
    reference: strOrNull(row.reference),
    state: row.state as StoredDeliveryEvent['state'],
    providerStatus: str(row.provider_status),
    reason: strOrNull(row.reason),
    occurredAt: numOrNull(row.occurred_at),
    source: row.source as StoredDeliveryEvent['source'],
    raw: row.raw,
    receivedAt: num(row.received_at),
    processedAt: numOrNull(row.processed_at),
  };
}
