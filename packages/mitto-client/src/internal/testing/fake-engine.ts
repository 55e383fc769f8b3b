// The behaviour of a fake Mitto, apart from any transport: authentication, payload checks,
// per-message acceptance, fault injection and the record of what was accepted. The node:http
// fake server and the msw handlers both drive it, so they answer alike.

import { E164, isValidSender } from '../validate.js';
import { chance, createRandom, type Random } from './random.js';

export interface FakeMittoFaults {
  /** Share of send requests answered with a 5xx (nothing accepted). */
  serverErrorRate?: number;
  /** Status used for injected server errors. Default 503. */
  serverErrorStatus?: number;
  /** Share of send requests answered 429 with `Retry-After` (nothing accepted). */
  rateLimitRate?: number;
  /** `Retry-After` value of injected 429s, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** Share of messages rejected one by one (an item without `messageId`). */
  rejectRate?: number;
  /** Destinations always rejected per item, as Mitto does with numbers it cannot route. */
  rejectDestinations?: readonly string[];
  /** Share of send requests whose messages are accepted, then the socket is destroyed unanswered. */
  dropAfterAcceptRate?: number;
  /** Share of send requests never answered. */
  hangRate?: number;
  /** Whether a hung request's messages are accepted before it hangs. Default false. */
  hangAfterAccept?: boolean;
  /** Delay before each answer: a fixed number of ms or a uniform range. Default 0. */
  latencyMs?: number | { min: number; max: number };
}

/** A fault for the next send request, ahead of the random ones (see `failNext`). */
export type ScriptedFault =
  | { type: 'server-error'; status?: number }
  | { type: 'rate-limit'; retryAfter?: string }
  | { type: 'reject-all'; reason?: string }
  | { type: 'drop-after-accept' }
  | { type: 'hang'; accept?: boolean }
  /** Accepts the messages, answers 200 with a body that is not JSON. */
  | { type: 'garbled-success' }
  /** Accepts the messages, answers 200 with one result fewer than messages. */
  | { type: 'short-answer' };

export interface AcceptedMessage {
  messageId: string;
  /** `null` for single sends. */
  bulkId: string | null;
  reference: string | null;
  destination: string;
  trafficAccountId: string;
  text: string;
  sender: string;
  /** Epoch ms of acceptance. */
  at: number;
  /** Current delivery status, as lookup reports it (`Queued`, `Sent`, `Delivered`, `Failed`, ...). */
  deliveryStatus: string;
  /** Failure description once the message failed. */
  description: string | null;
  updatedAt: number;
}

export interface FakeMittoStats {
  /** Every HTTP request, lookups and bad ones included. */
  requests: number;
  sendRequests: number;
  lookups: number;
  accepted: number;
  rejected: number;
  unauthorized: number;
  badRequests: number;
  serverErrors: number;
  rateLimited: number;
  /** Requests whose messages were accepted and whose socket was then destroyed. */
  dropped: number;
  hung: number;
  /** Reports the webhook answered 2xx to. */
  dlrPosted: number;
  dlrBatchesPosted: number;
  /** Failed webhook posts that were tried again. */
  dlrRetries: number;
  /** Reports given up on after the last attempt. */
  dlrFailed: number;
  /** Reports not yet posted (queued, waiting to retry or in flight). */
  dlrPending: number;
}

export interface DuplicateReport {
  /** Acceptances beyond the first of the same `reference`. */
  byReference: number;
  /** Acceptances beyond the first of the same destination and text. */
  byDestinationAndText: number;
  /** The references accepted more than once (at most 100). */
  references: string[];
}

export type EngineAnswer =
  | { kind: 'respond'; status: number; body: string; headers?: Record<string, string> }
  | { kind: 'drop' }
  | { kind: 'hang' };

export interface FakeEngineOptions {
  apiKey: string;
  seed?: number | undefined;
  faults?: FakeMittoFaults | undefined;
  /** Larger bulks are refused with a 400. Default 1,000 (the client's hard cap). */
  maxBatchSize?: number | undefined;
  /** Status given to every new message; the delivery simulation moves it on. */
  initialStatus: string;
  /** Keep accepted messages (for `accepted`, lookups, duplicates). Default true. */
  record?: boolean | undefined;
  onAccepted?: ((messages: readonly AcceptedMessage[]) => void) | undefined;
}

interface WireIn {
  trafficAccountId?: unknown;
  destination?: unknown;
  sms?: { text?: unknown; sender?: unknown } | null;
  reference?: unknown;
}

export function createFakeEngine(options: FakeEngineOptions) {
  const random: Random = createRandom(options.seed);
  // Ids carry an instance tag so two fakes (or a restarted one) never hand out the same id.
  const tag = Math.floor(random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');
  let faults: FakeMittoFaults = { ...options.faults };
  const scripted: ScriptedFault[] = [];
  const accepted: AcceptedMessage[] = [];
  const byId = new Map<string, AcceptedMessage>();
  let messageSeq = 0;
  let bulkSeq = 0;
  const stats: FakeMittoStats = {
    requests: 0,
    sendRequests: 0,
    lookups: 0,
    accepted: 0,
    rejected: 0,
    unauthorized: 0,
    badRequests: 0,
    serverErrors: 0,
    rateLimited: 0,
    dropped: 0,
    hung: 0,
    dlrPosted: 0,
    dlrBatchesPosted: 0,
    dlrRetries: 0,
    dlrFailed: 0,
    dlrPending: 0,
  };
  const maxBatchSize = options.maxBatchSize ?? 1000;
  const record = options.record ?? true;
  // Without a record and without delivery simulation there is no reason to build message objects.
  const keepMessages = record || options.onAccepted !== undefined;

  const json = (status: number, body: unknown, headers?: Record<string, string>): EngineAnswer => ({
    kind: 'respond',
    status,
    body: JSON.stringify(body),
    ...(headers ? { headers } : {}),
  });

  const latencyMs = (): number => {
    const latency = faults.latencyMs;
    if (latency === undefined) {
      return 0;
    }
    if (typeof latency === 'number') {
      return latency;
    }
    return latency.min + random() * (latency.max - latency.min);
  };

  const checkKey = (apiKey: string | null | undefined): EngineAnswer | null => {
    if (apiKey !== options.apiKey) {
      stats.unauthorized++;
      return json(401, {
        error: 'Unauthorized',
        description: 'missing or invalid X-Mitto-API-Key',
      });
    }
    return null;
  };

  const nextFault = (): ScriptedFault | null => {
    const queued = scripted.shift();
    if (queued) {
      return queued;
    }
    if (chance(random, faults.serverErrorRate)) {
      return { type: 'server-error' };
    }
    if (chance(random, faults.rateLimitRate)) {
      return { type: 'rate-limit' };
    }
    if (chance(random, faults.hangRate)) {
      return { type: 'hang', accept: faults.hangAfterAccept ?? false };
    }
    if (chance(random, faults.dropAfterAcceptRate)) {
      return { type: 'drop-after-accept' };
    }
    return null;
  };

  /** Accepts or rejects each message; returns the result items in request order. */
  const process = (items: readonly WireIn[], bulkId: string | null, rejectAll: string | null) => {
    const now = Date.now();
    const rejectSet =
      faults.rejectDestinations && faults.rejectDestinations.length > 0
        ? new Set(faults.rejectDestinations)
        : null;
    const results = new Array<Record<string, unknown>>(items.length);
    const fresh: AcceptedMessage[] = [];
    let acceptedNow = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const trafficAccountId =
        typeof item.trafficAccountId === 'string' ? item.trafficAccountId : null;
      const reason =
        rejectAll ??
        itemProblem(item) ??
        (rejectSet?.has(item.destination as string) ? 'Invalid destination' : null) ??
        (chance(random, faults.rejectRate) ? 'Rejected by operator' : null);
      if (reason !== null) {
        stats.rejected++;
        results[i] = { trafficAccountId, error: reason };
        continue;
      }
      const messageId = `fm-${tag}-${++messageSeq}`;
      results[i] = { messageId, trafficAccountId };
      acceptedNow++;
      if (!keepMessages) {
        continue;
      }
      const message: AcceptedMessage = {
        messageId,
        bulkId,
        reference: typeof item.reference === 'string' ? item.reference : null,
        destination: item.destination as string,
        trafficAccountId: trafficAccountId!,
        text: item.sms!.text as string,
        sender: item.sms!.sender as string,
        at: now,
        deliveryStatus: options.initialStatus,
        description: null,
        updatedAt: now,
      };
      if (record) {
        accepted.push(message);
        byId.set(messageId, message);
      }
      fresh.push(message);
    }
    stats.accepted += acceptedNow;
    if (fresh.length > 0) {
      options.onAccepted?.(fresh);
    }
    return results;
  };

  /** One send or bulk request, already read off the wire. */
  const handleSend = (
    kind: 'one' | 'bulk',
    apiKey: string | null | undefined,
    bodyText: string,
  ): EngineAnswer => {
    stats.sendRequests++;
    const denied = checkKey(apiKey);
    if (denied) {
      return denied;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(bodyText);
    } catch {
      stats.badRequests++;
      return json(400, { error: 'Invalid payload', description: 'body is not JSON' });
    }
    let items: WireIn[];
    if (kind === 'bulk') {
      const messages = (payload as { messages?: unknown } | null)?.messages;
      if (!Array.isArray(messages) || messages.length === 0) {
        stats.badRequests++;
        return json(400, {
          error: 'Invalid payload',
          description: 'messages must be a non-empty array',
        });
      }
      if (messages.length > maxBatchSize) {
        stats.badRequests++;
        return json(400, {
          error: 'Invalid payload',
          description: `at most ${maxBatchSize} messages per request`,
        });
      }
      items = messages as WireIn[];
    } else {
      items = [payload as WireIn];
    }
    if (items.some((item) => item === null || typeof item !== 'object')) {
      stats.badRequests++;
      return json(400, {
        error: 'Invalid payload',
        description: 'every message must be an object',
      });
    }

    const fault = nextFault();
    if (fault?.type === 'server-error') {
      stats.serverErrors++;
      const status = fault.status ?? faults.serverErrorStatus ?? 503;
      return json(status, { error: 'Service Unavailable' });
    }
    if (fault?.type === 'rate-limit') {
      stats.rateLimited++;
      return json(
        429,
        { error: 'Too Many Requests' },
        { 'retry-after': fault.retryAfter ?? String(faults.retryAfterSeconds ?? 1) },
      );
    }
    if (fault?.type === 'hang' && !fault.accept) {
      stats.hung++;
      return { kind: 'hang' };
    }
    const bulkId = kind === 'bulk' ? `fb-${tag}-${++bulkSeq}` : null;
    const results = process(
      items,
      bulkId,
      fault?.type === 'reject-all' ? (fault.reason ?? 'Rejected by operator') : null,
    );
    if (fault?.type === 'hang') {
      stats.hung++;
      return { kind: 'hang' };
    }
    if (fault?.type === 'drop-after-accept') {
      stats.dropped++;
      return { kind: 'drop' };
    }
    if (fault?.type === 'garbled-success') {
      return { kind: 'respond', status: 200, body: '{"messages": [ oops' };
    }
    if (fault?.type === 'short-answer') {
      results.pop();
    }
    return json(200, kind === 'bulk' ? { bulkId, messages: results } : { messages: results });
  };

  const handleLookup = (apiKey: string | null | undefined, messageId: string): EngineAnswer => {
    stats.lookups++;
    const denied = checkKey(apiKey);
    if (denied) {
      return denied;
    }
    const message = byId.get(messageId);
    if (!message) {
      return json(404, { error: 'Not Found' });
    }
    return json(200, {
      messageId: message.messageId,
      trafficAccountId: message.trafficAccountId,
      deliveryStatus: message.deliveryStatus,
      description: message.description,
      reference: message.reference,
      createdAt: new Date(message.at).toISOString(),
      updatedAt: new Date(message.updatedAt).toISOString(),
    });
  };

  const duplicates = (): DuplicateReport => {
    const refs = new Map<string, number>();
    const pairs = new Map<string, number>();
    for (const message of accepted) {
      if (message.reference !== null) {
        refs.set(message.reference, (refs.get(message.reference) ?? 0) + 1);
      }
      const key = `${message.destination}\u0000${message.text}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
    let byReference = 0;
    const references: string[] = [];
    for (const [reference, count] of refs) {
      if (count > 1) {
        byReference += count - 1;
        if (references.length < 100) {
          references.push(reference);
        }
      }
    }
    let byDestinationAndText = 0;
    for (const count of pairs.values()) {
      byDestinationAndText += count > 1 ? count - 1 : 0;
    }
    return { byReference, byDestinationAndText, references };
  };

  return {
    stats,
    accepted: accepted as readonly AcceptedMessage[],
    random,
    latencyMs,
    handleSend,
    handleLookup,
    duplicates,
    find: (messageId: string) => byId.get(messageId),
    setFaults(next: FakeMittoFaults, replace = false): void {
      faults = replace ? { ...next } : { ...faults, ...next };
    },
    faults: (): Readonly<FakeMittoFaults> => faults,
    failNext(...next: ScriptedFault[]): void {
      scripted.push(...next);
    },
  };
}

export type FakeEngine = ReturnType<typeof createFakeEngine>;

function itemProblem(item: WireIn): string | null {
  if (typeof item.trafficAccountId !== 'string' || item.trafficAccountId === '') {
    return 'Missing trafficAccountId';
  }
  if (typeof item.destination !== 'string' || !E164.test(item.destination)) {
    return 'Invalid destination';
  }
  const sms = item.sms;
  if (sms === null || typeof sms !== 'object' || typeof sms.text !== 'string' || sms.text === '') {
    return 'Missing text';
  }
  if (typeof sms.sender !== 'string' || !isValidSender(sms.sender)) {
    return 'Invalid sender';
  }
  return null;
}
