// Mitto's delivery statuses mapped onto core's `DeliveryState`, shared by DLR parsing and lookup.
// Unknown words are "no news" (`null`), never a regression: Mitto adds statuses without notice.

import type { DeliveryState } from '@smsbatch/core';

const STATES: Readonly<Record<string, DeliveryState>> = {
  sent: 'sent',
  delivered: 'delivered',
  failure: 'failed',
  failed: 'failed',
  undelivered: 'failed',
  expired: 'failed',
  rejected: 'failed',
};

/** `null` for `Queued` and for every status this client does not know. */
export function toDeliveryState(providerStatus: string): DeliveryState | null {
  return STATES[providerStatus.trim().toLowerCase()] ?? null;
}
