// Campaign helpers shared by the pipeline tests: audiences, waiting for a campaign to settle, and
// the checks every end-to-end test makes (no duplicate at the provider, exact credits).

import type { CampaignStatusView, CreditLedger, SmsPipeline } from '@smsbatch/core';
import type { AcceptedMessage, FakeMitto } from '@smsbatch/mitto-client/testing';
import { expect } from 'vitest';
import { waitFor } from './wait.js';

/** `count` distinct valid Greek mobile numbers from `from` on. */
export const audience = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({ phone: `+3069${String(from + i).padStart(8, '0')}` }));

export interface CampaignInput {
  ownerId: string;
  name: string;
  count: number;
  trafficAccountId: string;
  from?: number;
}

/** Creates and enqueues a campaign; its text names it, so no two campaigns send the same text. */
export async function startCampaign(pipeline: SmsPipeline, input: CampaignInput): Promise<string> {
  const campaign = await pipeline.campaigns.create(input.ownerId, {
    name: input.name,
    text: `Offer ${input.name}: 10% off today`,
    sender: 'Shop',
    trafficAccountId: input.trafficAccountId,
    recipients: audience(input.count, input.from),
  });
  await pipeline.campaigns.enqueue(input.ownerId, campaign.id);
  return campaign.id;
}

export async function waitSettled(
  pipeline: SmsPipeline,
  ownerId: string,
  campaignId: string,
  timeoutMs = 60_000,
): Promise<CampaignStatusView> {
  return waitFor(
    async () => {
      const status = await pipeline.campaigns.status(ownerId, campaignId);
      return status.finishedAt !== null ? status : null;
    },
    `campaign ${campaignId} to settle`,
    { timeoutMs, intervalMs: 100 },
  );
}

/** What the provider accepted for a campaign (message ids are `<campaignId>-<seq>`). */
export const acceptedOf = (fake: FakeMitto, campaignId: string): AcceptedMessage[] =>
  fake.accepted.filter((message) => message.reference?.startsWith(`${campaignId}-`));

export function expectNoDuplicates(fake: FakeMitto): void {
  const duplicates = fake.duplicates();
  expect(duplicates.references).toEqual([]);
  expect(duplicates.byReference).toBe(0);
  expect(duplicates.byDestinationAndText).toBe(0);
}

/**
 * A settled campaign's credits are exact: captured equals the cost of what the provider accepted
 * (per-message pricing: one credit each), and nothing is still reserved.
 */
export function expectExactCredits(status: CampaignStatusView, fake: FakeMitto): void {
  const accepted = acceptedOf(fake, status.id).length;
  expect(status.sent + status.delivered).toBe(accepted);
  expect(status.creditsDebited).toBe(accepted);
  expect(status.creditsReserved).toBe(0);
}

/** The owner's balance after settling: every credit either captured or back, none reserved. */
export async function expectBalance(
  ledger: CreditLedger,
  ownerId: string,
  granted: number,
  captured: number,
): Promise<void> {
  expect(await ledger.balance(ownerId)).toEqual({
    balance: granted - captured,
    reserved: 0,
    available: granted - captured,
  });
}
