// The in-memory CampaignStore: the embedded default of the demo and of single-process apps.
// Every method runs to completion without awaiting, so each call is atomic under concurrent
// async use; returned records are copies, so callers never alias the store's state.

import { type BatchStatus, emptyCounts, type MessageStatus } from '../domain/status.js';
import type {
  BatchPatch,
  BatchRecord,
  CampaignPatch,
  CampaignRecord,
  ClaimedMessage,
  MessageRecord,
  NewCampaign,
  NewMessage,
  Page,
  RecipientRow,
  StoredDeliveryEvent,
} from '../domain/types.js';
import { ConflictError } from '../errors.js';
import type {
  AppliedTransition,
  BulkChange,
  CampaignStore,
  ClaimOptions,
  ClaimTarget,
  MessageScan,
  MessageTransition,
  PlanChunk,
} from '../ports/campaign-store.js';

interface CampaignState {
  record: CampaignRecord;
  recipients: RecipientRow[];
  /** Messages in seq order (the planner appends chunks in seq order). */
  messages: MessageRecord[];
  byBatch: Map<number, MessageRecord[]>;
  /** Phone → message id, for non-skipped messages (dedupe across chunks). */
  phones: Map<string, string>;
  batches: Map<number, BatchRecord>;
  /** Batch numbers in `queued` or `sending`. */
  inFlightBatches: Set<number>;
}

const IN_FLIGHT_BATCH: readonly BatchStatus[] = ['queued', 'sending'];

export interface MemoryCampaignStore extends CampaignStore {
  /** Every message of every campaign: for tests and invariant checks. */
  allMessages(): MessageRecord[];
}

export function createMemoryStore(): MemoryCampaignStore {
  const campaigns = new Map<string, CampaignState>();
  const messages = new Map<string, MessageRecord>();
  const byProviderId = new Map<string, string>();
  /** Test sends, apart: maintenance scans for them must not walk every campaign message. */
  const testMessages = new Set<MessageRecord>();
  const events = new Map<string, StoredDeliveryEvent>();
  const pendingEvents = new Set<StoredDeliveryEvent>();
  let campaignSeq = 0;
  const campaignOrder = new Map<string, number>();

  const stateOf = (campaignId: string) => {
    const state = campaigns.get(campaignId);
    if (!state) throw new ConflictError(`campaign ${campaignId} not found`);
    return state;
  };

  const copyCampaign = (c: CampaignRecord): CampaignRecord => ({
    ...c,
    plan: { ...c.plan },
    counts: { ...c.counts },
  });
  const copyBatch = (b: BatchRecord): BatchRecord => ({ ...b, counts: { ...b.counts } });

  /** Moves a message to `to`, keeping every index and counter in step. */
  const move = (message: MessageRecord, to: MessageStatus, now: number) => {
    const from = message.status;
    const state = message.campaignId === null ? undefined : campaigns.get(message.campaignId);
    if (state) {
      state.record.counts[from] -= 1;
      state.record.counts[to] += 1;
      const batch = message.batchNo === null ? undefined : state.batches.get(message.batchNo);
      if (batch) {
        batch.counts[from] -= 1;
        batch.counts[to] += 1;
        batch.updatedAt = now;
      }
    }
    message.status = to;
    message.updatedAt = now;
    if (to === 'skipped' && message.campaignId !== null) {
      const phones = campaigns.get(message.campaignId)?.phones;
      if (phones?.get(message.phone) === message.id) phones.delete(message.phone);
    }
  };

  const page = <T>(items: T[], limit: number, cursorOf: (item: T) => string): Page<T> => {
    const sliced = items.slice(0, limit);
    const last = sliced.at(-1);
    return {
      items: sliced,
      nextCursor: items.length > limit && last !== undefined ? cursorOf(last) : null,
    };
  };

  const store: MemoryCampaignStore = {
    async createCampaign(campaign: NewCampaign) {
      if (campaigns.has(campaign.id)) throw new ConflictError(`campaign ${campaign.id} exists`);
      const record: CampaignRecord = {
        ...campaign,
        plan: { ...campaign.plan },
        counts: emptyCounts(),
        acceptedCost: 0,
        updatedAt: campaign.createdAt,
      };
      campaigns.set(campaign.id, {
        record,
        recipients: [],
        messages: [],
        byBatch: new Map(),
        phones: new Map(),
        batches: new Map(),
        inFlightBatches: new Set(),
      });
      campaignOrder.set(campaign.id, campaignSeq++);
      return copyCampaign(record);
    },

    async getCampaign(id) {
      const state = campaigns.get(id);
      return state ? copyCampaign(state.record) : null;
    },

    async listCampaigns({ ownerId, statuses, limit, cursor }) {
      const after = cursor ? Number(cursor) : Number.POSITIVE_INFINITY;
      const matching: CampaignRecord[] = [];
      for (const { record } of campaigns.values()) {
        if (ownerId !== undefined && record.ownerId !== ownerId) continue;
        if (statuses && !statuses.includes(record.status)) continue;
        if ((campaignOrder.get(record.id) ?? 0) >= after) continue;
        matching.push(record);
      }
      matching.sort((a, b) => (campaignOrder.get(b.id) ?? 0) - (campaignOrder.get(a.id) ?? 0));
      const result = page(matching.slice(0, limit + 1), limit, (c) =>
        String(campaignOrder.get(c.id)),
      );
      return { ...result, items: result.items.map(copyCampaign) };
    },

    async updateCampaign(id, patch: CampaignPatch, guard) {
      const state = campaigns.get(id);
      if (!state) return null;
      if (guard?.ifStatus && !guard.ifStatus.includes(state.record.status)) return null;
      Object.assign(state.record, definedOnly(patch));
      return copyCampaign(state.record);
    },

    async insertRecipients(campaignId, rows) {
      const state = stateOf(campaignId);
      for (const row of rows) {
        if (state.recipients[row.seq] === undefined) state.recipients[row.seq] = { ...row };
      }
    },

    async readRecipients(campaignId, fromSeq, limit) {
      const state = stateOf(campaignId);
      const out: RecipientRow[] = [];
      for (let seq = fromSeq; seq < state.recipients.length && out.length < limit; seq++) {
        const row = state.recipients[seq];
        if (row) out.push(row);
      }
      return out;
    },

    async findTakenPhones(campaignId, phones) {
      const taken = stateOf(campaignId).phones;
      return phones.filter((phone) => taken.has(phone));
    },

    async appendPlanChunk(chunk: PlanChunk) {
      const state = stateOf(chunk.campaignId);
      const { record } = state;
      if (!chunk.ifStatus.includes(record.status) || !samePlan(record.plan, chunk.expected)) {
        return false;
      }
      for (const message of chunk.messages) {
        if (messages.has(message.id)) throw new ConflictError(`message ${message.id} exists`);
        if (message.status !== 'skipped' && state.phones.has(message.phone)) {
          throw new ConflictError(`phone of message ${message.id} is taken in the campaign`);
        }
      }
      for (const fresh of chunk.messages) {
        const message = newMessageRecord(fresh);
        messages.set(message.id, message);
        state.messages.push(message);
        record.counts[message.status] += 1;
        if (message.status !== 'skipped') state.phones.set(message.phone, message.id);
        if (message.batchNo !== null) {
          const list = state.byBatch.get(message.batchNo);
          if (list) list.push(message);
          else state.byBatch.set(message.batchNo, [message]);
        }
      }
      const now = chunk.messages[0]?.createdAt ?? record.updatedAt;
      for (const batch of chunk.batches) {
        state.batches.set(batch.batchNo, {
          ...batch,
          campaignId: chunk.campaignId,
          status: 'planned',
          releases: 0,
          attempts: 0,
          attemptId: null,
          dispatchedAttemptId: null,
          bulkId: null,
          lastError: null,
          counts: { ...emptyCounts(), queued: batch.size },
          createdAt: now,
          updatedAt: now,
        });
      }
      record.plan = { ...chunk.next };
      return true;
    },

    async releaseBatches(campaignId, window) {
      const state = stateOf(campaignId);
      const released: BatchRecord[] = [];
      let room = window - state.inFlightBatches.size;
      if (room <= 0) return released;
      const ordered = [...state.batches.values()].sort((a, b) => a.batchNo - b.batchNo);
      for (const batch of ordered) {
        if (room <= 0) break;
        if (batch.status !== 'planned') continue;
        batch.status = 'queued';
        batch.releases += 1;
        state.inFlightBatches.add(batch.batchNo);
        released.push(copyBatch(batch));
        room -= 1;
      }
      return released;
    },

    async getBatch(campaignId, batchNo) {
      const batch = campaigns.get(campaignId)?.batches.get(batchNo);
      return batch ? copyBatch(batch) : null;
    },

    async listBatches(campaignId, { statuses, limit, cursor }) {
      const state = stateOf(campaignId);
      const after = cursor ? Number(cursor) : -1;
      const matching = [...state.batches.values()]
        .filter((b) => b.batchNo > after && (!statuses || statuses.includes(b.status)))
        .sort((a, b) => a.batchNo - b.batchNo);
      const result = page(matching, limit, (b) => String(b.batchNo));
      return { ...result, items: result.items.map(copyBatch) };
    },

    async updateBatch(campaignId, batchNo, patch: BatchPatch, guard) {
      const state = campaigns.get(campaignId);
      const batch = state?.batches.get(batchNo);
      if (!state || !batch) return null;
      if (guard?.ifStatus && !guard.ifStatus.includes(batch.status)) return null;
      Object.assign(batch, definedOnly(patch));
      if (IN_FLIGHT_BATCH.includes(batch.status)) state.inFlightBatches.add(batchNo);
      else state.inFlightBatches.delete(batchNo);
      return copyBatch(batch);
    },

    async insertMessages(fresh: readonly NewMessage[]) {
      for (const message of fresh) {
        if (messages.has(message.id)) throw new ConflictError(`message ${message.id} exists`);
        if (message.campaignId !== null) {
          throw new ConflictError('campaign messages are inserted by appendPlanChunk');
        }
      }
      for (const message of fresh) {
        const record = newMessageRecord(message);
        messages.set(record.id, record);
        testMessages.add(record);
      }
    },

    async getMessage(id) {
      const message = messages.get(id);
      return message ? { ...message } : null;
    },

    async findMessages({ ids = [], providerMessageIds = [] }) {
      const found = new Map<string, MessageRecord>();
      for (const id of ids) {
        const message = messages.get(id);
        if (message) found.set(id, message);
      }
      for (const providerId of providerMessageIds) {
        const id = byProviderId.get(providerId);
        const message = id === undefined ? undefined : messages.get(id);
        if (message) found.set(message.id, message);
      }
      return [...found.values()].map((m) => ({ ...m }));
    },

    async listMessages(campaignId, { status, batchNo, limit, cursor }) {
      const state = stateOf(campaignId);
      const after = cursor ? Number(cursor) : -1;
      const source = batchNo === undefined ? state.messages : (state.byBatch.get(batchNo) ?? []);
      const items: MessageRecord[] = [];
      for (const message of source) {
        if (message.seq <= after || (status && message.status !== status)) continue;
        items.push({ ...message });
        if (items.length > limit) break;
      }
      return page(items, limit, (m) => String(m.seq));
    },

    async scanMessages(scan: MessageScan) {
      // No per-status index: keeping one costs every message two set updates per transition,
      // while maintenance scans are rare and walk a single pass.
      const source =
        scan.kind === 'test'
          ? testMessages
          : scan.campaignId !== undefined
            ? (campaigns.get(scan.campaignId)?.messages ?? [])
            : messages.values();
      const found: MessageRecord[] = [];
      for (const message of source) {
        if (message.status !== scan.status) continue;
        if (scan.updatedBefore !== undefined && message.updatedAt >= scan.updatedBefore) continue;
        if (scan.campaignId !== undefined && message.campaignId !== scan.campaignId) continue;
        if (scan.kind !== undefined && message.kind !== scan.kind) continue;
        if (
          scan.leaseExpiredBefore !== undefined &&
          !(message.leaseExpiresAt !== null && message.leaseExpiresAt < scan.leaseExpiredBefore)
        ) {
          continue;
        }
        if (
          scan.lookedUpBefore !== undefined &&
          message.lastLookupAt !== null &&
          message.lastLookupAt >= scan.lookedUpBefore
        ) {
          continue;
        }
        if (scan.maxLookups !== undefined && message.lookupCount >= scan.maxLookups) continue;
        if (scan.bulkId !== undefined && message.bulkId !== scan.bulkId) continue;
        found.push(message);
      }
      if (found.length > scan.limit) found.sort((a, b) => a.updatedAt - b.updatedAt);
      return found.slice(0, scan.limit).map((m) => ({ ...m }));
    },

    async claimMessages(target: ClaimTarget, { attemptId, leaseUntil, now }: ClaimOptions) {
      const candidates =
        'messageIds' in target
          ? target.messageIds.map((id) => messages.get(id))
          : (campaigns.get(target.campaignId)?.byBatch.get(target.batchNo) ?? []);
      const claimed: ClaimedMessage[] = [];
      for (const message of candidates) {
        if (message?.status !== 'queued') continue;
        move(message, 'sending', now);
        message.attemptId = attemptId;
        message.leaseExpiresAt = leaseUntil;
        claimed.push({
          id: message.id,
          campaignId: message.campaignId,
          ownerId: message.ownerId,
          batchNo: message.batchNo,
          contactId: message.contactId,
          phone: message.phone,
          text: message.text,
          sender: message.sender,
          trafficAccountId: message.trafficAccountId,
          segments: message.segments,
          cost: message.cost,
          retryCount: message.retryCount,
        });
      }
      if (claimed.length > 0) {
        const state = campaigns.get(claimed[0]!.campaignId ?? '');
        const batchNo = claimed[0]!.batchNo;
        const batch = batchNo === null ? undefined : state?.batches.get(batchNo);
        if (state && batch) {
          batch.status = 'sending';
          if (!('messageIds' in target)) {
            batch.attempts += 1;
            batch.attemptId = attemptId;
          }
          batch.updatedAt = now;
          state.inFlightBatches.add(batch.batchNo);
        }
      }
      return claimed;
    },

    async applyTransitions(transitions: readonly MessageTransition[], { now }) {
      const applied: AppliedTransition[] = [];
      for (const transition of transitions) {
        const message = messages.get(transition.id);
        if (!message) continue;
        const from = message.status;
        const allowed = typeof transition.from === 'string' ? [transition.from] : transition.from;
        if (!allowed.includes(from)) continue;
        if (transition.attemptId !== undefined && message.attemptId !== transition.attemptId) {
          continue;
        }
        const set = transition.set ?? {};
        move(message, transition.to, now);
        if (from === 'sending') message.leaseExpiresAt = null;
        if (transition.to === 'sent') message.sentAt = now;
        if (transition.to === 'delivered') message.deliveredAt = now;
        if (transition.to === 'failed') message.failedAt = now;
        if (set.error !== undefined) message.error = set.error;
        if (set.isRetryable !== undefined) message.isRetryable = set.isRetryable;
        if (set.bulkId !== undefined) message.bulkId = set.bulkId;
        if (set.providerMessageId !== undefined) {
          message.providerMessageId = set.providerMessageId;
          byProviderId.set(set.providerMessageId, message.id);
        }
        if (set.incrementRetry) {
          message.retryCount += 1;
          message.attemptId = null;
        }
        let acceptedNow = false;
        if (set.accept && !message.isAccepted) {
          message.isAccepted = true;
          acceptedNow = true;
          const campaign = message.campaignId ? campaigns.get(message.campaignId) : undefined;
          if (campaign) campaign.record.acceptedCost += message.cost;
        }
        applied.push({
          id: message.id,
          kind: message.kind,
          campaignId: message.campaignId,
          batchNo: message.batchNo,
          ownerId: message.ownerId,
          from,
          to: transition.to,
          cost: message.cost,
          acceptedNow,
        });
      }
      return applied;
    },

    async cancelQueued(campaignId, { now }) {
      const state = stateOf(campaignId);
      const change: BulkChange = { count: 0, cost: 0 };
      for (const message of state.messages) {
        if (message.status !== 'queued') continue;
        move(message, 'cancelled', now);
        change.count += 1;
        change.cost += message.cost;
      }
      for (const batch of state.batches.values()) {
        if (
          (batch.status === 'planned' || batch.status === 'queued') &&
          batch.counts.sending === 0
        ) {
          batch.status = 'cancelled';
          batch.updatedAt = now;
          state.inFlightBatches.delete(batch.batchNo);
        }
      }
      return change;
    },

    async requeueFailed(campaignId, { now }) {
      const state = stateOf(campaignId);
      const change: BulkChange = { count: 0, cost: 0 };
      for (const message of state.messages) {
        if (message.status !== 'failed' || !message.isRetryable) continue;
        move(message, 'queued', now);
        message.error = null;
        message.isRetryable = false;
        message.attemptId = null;
        change.count += 1;
        change.cost += message.cost;
        const batch = message.batchNo === null ? undefined : state.batches.get(message.batchNo);
        if (batch && !IN_FLIGHT_BATCH.includes(batch.status)) {
          batch.status = 'planned';
          batch.updatedAt = now;
        }
      }
      return change;
    },

    async markLookedUp(ids, { now }) {
      for (const id of ids) {
        const message = messages.get(id);
        if (!message) continue;
        message.lookupCount += 1;
        message.lastLookupAt = now;
      }
    },

    async recordDeliveryEvents(fresh) {
      const added: StoredDeliveryEvent[] = [];
      for (const event of fresh) {
        if (events.has(event.key)) continue;
        const stored = { ...event };
        events.set(event.key, stored);
        if (stored.processedAt === null) pendingEvents.add(stored);
        added.push({ ...stored });
      }
      return added;
    },

    async listPendingDeliveryEvents({ references, providerMessageIds, receivedBefore, limit }) {
      if (pendingEvents.size === 0) return [];
      const refs = new Set(references ?? []);
      const providerIds = new Set(providerMessageIds ?? []);
      const out: StoredDeliveryEvent[] = [];
      for (const event of pendingEvents) {
        if (out.length >= limit) break;
        const matches =
          (event.reference !== null && refs.has(event.reference)) ||
          (event.providerMessageId !== null && providerIds.has(event.providerMessageId)) ||
          (receivedBefore !== undefined && event.receivedAt < receivedBefore);
        if (matches) out.push({ ...event });
      }
      return out;
    },

    async markDeliveryEventsProcessed(keys, { now }) {
      for (const key of keys) {
        const event = events.get(key);
        if (!event || event.processedAt !== null) continue;
        event.processedAt = now;
        pendingEvents.delete(event);
      }
    },

    allMessages() {
      return [...messages.values()].map((m) => ({ ...m }));
    },
  };
  return store;
}

/** Every field spelled out: one hidden class for all messages keeps a large store fast. */
function newMessageRecord(m: NewMessage): MessageRecord {
  return {
    id: m.id,
    kind: m.kind,
    campaignId: m.campaignId,
    ownerId: m.ownerId,
    seq: m.seq,
    batchNo: m.batchNo,
    contactId: m.contactId,
    phone: m.phone,
    text: m.text,
    sender: m.sender,
    trafficAccountId: m.trafficAccountId,
    encoding: m.encoding,
    segments: m.segments,
    cost: m.cost,
    status: m.status,
    error: m.error,
    isRetryable: m.isRetryable,
    isAccepted: false,
    retryCount: 0,
    attemptId: null,
    leaseExpiresAt: null,
    bulkId: null,
    providerMessageId: null,
    lookupCount: 0,
    lastLookupAt: null,
    createdAt: m.createdAt,
    updatedAt: m.createdAt,
    sentAt: null,
    deliveredAt: null,
    failedAt: null,
  };
}

function samePlan(a: CampaignRecord['plan'], b: CampaignRecord['plan']): boolean {
  return (
    a.nextSeq === b.nextSeq &&
    a.planned === b.planned &&
    a.chunkNo === b.chunkNo &&
    a.plannedCost === b.plannedCost &&
    a.done === b.done
  );
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
