// What the benchmarks read off the fake Mitto's record, computed where the record lives (this
// process or the fake's own), so only the answer crosses the IPC channel.

import type { AcceptedMessage } from '@smsbatch/mitto-client/testing';

/** Acceptance times (epoch ms) per traffic account, from index `from` on. */
export function acceptedTimes(
  accepted: readonly AcceptedMessage[],
  from = 0,
): Record<string, number[]> {
  const byAccount: Record<string, number[]> = {};
  for (let i = from; i < accepted.length; i++) {
    const message = accepted[i]!;
    const times = byAccount[message.trafficAccountId] ?? [];
    times.push(message.at);
    byAccount[message.trafficAccountId] = times;
  }
  return byAccount;
}

/** Every accepted reference, repeats included (a duplicate shows up twice). */
export const acceptedReferences = (accepted: readonly AcceptedMessage[]): (string | null)[] =>
  accepted.map((message) => message.reference);
