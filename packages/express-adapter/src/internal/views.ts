// Core's records in the HTTP contract's terms: times become ISO 8601 strings, counts become
// top-level fields, and what only the pipeline needs (claims, leases, lookups, owner ids) stays out.

import type {
  Balance,
  BatchRecord,
  CampaignStatusView,
  MessageRecord,
  MessageStatus,
} from '@smsbatch/core';
import { MESSAGE_STATUSES } from '@smsbatch/core';

export function isoTime(epochMs: number | null): string | null {
  return epochMs === null ? null : new Date(epochMs).toISOString();
}

function counts(source: Readonly<Record<MessageStatus, number>>): Record<MessageStatus, number> {
  return Object.fromEntries(MESSAGE_STATUSES.map((status) => [status, source[status]])) as Record<
    MessageStatus,
    number
  >;
}

export function campaignView(view: CampaignStatusView) {
  return {
    id: view.id,
    name: view.name,
    status: view.status,
    total: view.total,
    ...counts(view),
    creditsReserved: view.creditsReserved,
    creditsDebited: view.creditsDebited,
    scheduledAt: isoTime(view.scheduledAt),
    startedAt: isoTime(view.startedAt),
    finishedAt: isoTime(view.finishedAt),
    createdAt: isoTime(view.createdAt),
  };
}

export function messageView(message: MessageRecord) {
  return {
    id: message.id,
    kind: message.kind,
    campaignId: message.campaignId,
    batchNo: message.batchNo,
    contactId: message.contactId,
    phone: message.phone,
    text: message.text,
    sender: message.sender,
    trafficAccountId: message.trafficAccountId,
    status: message.status,
    error: message.error,
    isRetryable: message.isRetryable,
    encoding: message.encoding,
    segments: message.segments,
    cost: message.cost,
    retryCount: message.retryCount,
    bulkId: message.bulkId,
    providerMessageId: message.providerMessageId,
    createdAt: isoTime(message.createdAt),
    updatedAt: isoTime(message.updatedAt),
    sentAt: isoTime(message.sentAt),
    deliveredAt: isoTime(message.deliveredAt),
    failedAt: isoTime(message.failedAt),
  };
}

export function batchView(batch: BatchRecord) {
  return {
    batchNo: batch.batchNo,
    size: batch.size,
    segments: batch.segments,
    cost: batch.cost,
    status: batch.status,
    bulkId: batch.bulkId,
    attempts: batch.attempts,
    lastError: batch.lastError,
    ...counts(batch.counts),
    createdAt: isoTime(batch.createdAt),
    updatedAt: isoTime(batch.updatedAt),
  };
}

export function balanceView(balance: Balance) {
  return { balance: balance.balance, reserved: balance.reserved, available: balance.available };
}
