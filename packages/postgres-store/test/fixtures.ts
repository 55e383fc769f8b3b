// Record builders for the integration tests: a campaign and its planned messages, as the
// planner would hand them to the store.

import type { NewCampaign, NewMessage, PlanCursor } from '@smsbatch/core';

export const T0 = 1_700_000_000_000;

export function newCampaign(id: string, overrides: Partial<NewCampaign> = {}): NewCampaign {
  return {
    id,
    ownerId: 'owner-1',
    name: `campaign ${id}`,
    text: 'Hello {{name}}',
    sender: 'Shop',
    trafficAccountId: 'ta-1',
    status: 'sending',
    total: 0,
    estimatedCost: 0,
    holdId: null,
    holdGeneration: 0,
    batchSize: 10,
    plan: { nextSeq: 0, planned: 0, chunkNo: 0, plannedCost: 0, done: false },
    scheduleVersion: 0,
    scheduledAt: null,
    startedAt: null,
    finishedAt: null,
    createdAt: T0,
    ...overrides,
  };
}

export function newMessage(
  campaignId: string | null,
  seq: number,
  overrides: Partial<NewMessage> = {},
): NewMessage {
  return {
    id: campaignId === null ? `test-${seq}` : `${campaignId}-${seq}`,
    kind: campaignId === null ? 'test' : 'campaign',
    campaignId,
    ownerId: 'owner-1',
    seq,
    batchNo: null,
    contactId: `contact-${seq}`,
    phone: `+3069${String(seq).padStart(8, '0')}`,
    text: 'Hello',
    sender: 'Shop',
    trafficAccountId: 'ta-1',
    encoding: 'GSM-7',
    segments: 1,
    cost: 1,
    status: 'queued',
    error: null,
    isRetryable: false,
    createdAt: T0,
    ...overrides,
  };
}

/**
 * `count` queued messages from `fromSeq`, cut into batches of `batchSize` (batch numbers follow
 * from the planned ordinal, as the planner numbers them), and the cursor after them.
 */
export function planChunk(
  campaignId: string,
  cursor: PlanCursor,
  count: number,
  batchSize: number,
  options: { done?: boolean; cost?: number } = {},
) {
  const cost = options.cost ?? 1;
  const messages = Array.from({ length: count }, (_, i) =>
    newMessage(campaignId, cursor.nextSeq + i, {
      batchNo: Math.floor((cursor.planned + i) / batchSize),
      cost,
    }),
  );
  const planned = cursor.planned + count;
  const firstOpen = Math.floor(cursor.planned / batchSize);
  const lastClosed = options.done
    ? Math.ceil(planned / batchSize)
    : Math.floor(planned / batchSize);
  const batches = [];
  for (let batchNo = firstOpen; batchNo < lastClosed; batchNo++) {
    const size = Math.min(batchSize, planned - batchNo * batchSize);
    batches.push({ batchNo, size, segments: size, cost: size * cost });
  }
  const next: PlanCursor = {
    nextSeq: cursor.nextSeq + count,
    planned,
    chunkNo: cursor.chunkNo + 1,
    plannedCost: cursor.plannedCost + count * cost,
    done: options.done ?? false,
  };
  return { messages, batches, next };
}
