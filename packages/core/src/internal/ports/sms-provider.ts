// The SmsProvider port. Core knows nothing of Mitto: a provider sends, reports per message, and
// throws errors that say whether anything may have gone out (`sendState`).

import type { DeliveryEvent } from '../domain/types.js';

export interface OutboundSms {
  /** Our message id, echoed back in delivery reports. */
  reference: string;
  /** E.164 with the leading `+`. */
  destination: string;
  text: string;
  sender: string;
  trafficAccountId: string;
}

export type SendOutcome =
  | { status: 'accepted'; providerMessageId: string }
  | { status: 'rejected'; reason: string; isRetryable: boolean };

export interface BulkSendResult {
  bulkId: string | null;
  /** One per message sent, in request order. */
  results: SendOutcome[];
}

export interface SendOptions {
  signal?: AbortSignal;
}

/**
 * What a provider error must tell the pipeline. `not-sent`: the provider certainly did not take
 * the request (refused connection, 4xx, 5xx answered before acceptance) and it may be retried when
 * `isRetryable`. `maybe-sent`: the request went out and no answer came back; resending could
 * duplicate, so the messages become `unknown`. An error without these fields counts as `maybe-sent`.
 */
export interface ProviderFailure {
  readonly sendState: 'not-sent' | 'maybe-sent';
  readonly isRetryable: boolean;
  /** The provider asked us to wait (429 `Retry-After`). */
  readonly retryAfterMs?: number | undefined;
  /** A 429: back off the traffic account, not just this batch. */
  readonly isRateLimited?: boolean | undefined;
}

export interface SmsProvider {
  sendBulk(messages: readonly OutboundSms[], options?: SendOptions): Promise<BulkSendResult>;
  sendOne(message: OutboundSms, options?: SendOptions): Promise<SendOutcome>;
  /** The message's current delivery state; `null` when the provider does not know the id. */
  lookup(
    providerMessageId: string,
    options?: SendOptions,
  ): Promise<(Omit<DeliveryEvent, 'state'> & { state: DeliveryEvent['state'] | null }) | null>;
}
