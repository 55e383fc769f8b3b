// Driving one campaign the way an app does: create it (not timed), enqueue it, wait until it is
// settled. The clock starts just before enqueue and stops at the campaign's own `finishedAt`, so
// the polling interval adds nothing to the figure.

import { randomBytes } from 'node:crypto';
import type { CampaignStatusView, CreditLedger, SmsPipeline } from '@smsbatch/core';
import { audience, OWNER, TEXT } from './cluster.js';
import { sleep } from './services.js';

export async function grantCredits(ledger: CreditLedger, amount: number, owner = OWNER) {
  await ledger.credit(owner, amount, `grant-${randomBytes(6).toString('hex')}`);
}

export async function createCampaign(
  pipeline: SmsPipeline,
  count: number,
  options: { from?: number; trafficAccountId?: string; name?: string; owner?: string } = {},
) {
  return pipeline.campaigns.create(options.owner ?? OWNER, {
    name: options.name ?? `bench ${count}`,
    text: TEXT,
    recipients: audience(count, options.from ?? 0),
    ...(options.trafficAccountId ? { trafficAccountId: options.trafficAccountId } : {}),
  });
}

/** Polls until the campaign has a `finishedAt`; fails after `timeoutMs`. */
export async function waitSettled(
  pipeline: SmsPipeline,
  id: string,
  { timeoutMs = 600_000, intervalMs = 100, owner = OWNER } = {},
): Promise<CampaignStatusView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await pipeline.campaigns.status(owner, id);
    if (view.finishedAt !== null) return view;
    if (Date.now() > deadline) {
      throw new Error(
        `campaign ${id} not settled after ${timeoutMs} ms: ${JSON.stringify({ ...view, name: undefined })}`,
      );
    }
    await sleep(intervalMs);
  }
}

export interface CampaignRun {
  id: string;
  messages: number;
  /** From just before enqueue to the campaign's finishedAt. */
  ms: number;
  messagesPerSecond: number;
  status: string;
  sent: number;
  failed: number;
}

/** Creates (untimed), enqueues and waits for a campaign of `count` messages. */
export async function runCampaign(
  pipeline: SmsPipeline,
  count: number,
  options: {
    from?: number;
    trafficAccountId?: string;
    timeoutMs?: number;
    /** Awaited just before enqueue: where a measurement that excludes create starts. */
    onStart?: () => unknown;
  } = {},
): Promise<CampaignRun> {
  const campaign = await createCampaign(pipeline, count, options);
  await options.onStart?.();
  const startedAt = Date.now();
  await pipeline.campaigns.enqueue(OWNER, campaign.id);
  const view = await waitSettled(pipeline, campaign.id, {
    timeoutMs: options.timeoutMs ?? 600_000,
  });
  const ms = view.finishedAt! - startedAt;
  return {
    id: campaign.id,
    messages: count,
    ms,
    messagesPerSecond: Math.round((count * 1000) / ms),
    status: view.status,
    sent: view.sent + view.delivered,
    failed: view.failed,
  };
}
