// What every pipeline step shares: the ports, the resolved options, and the naming rules for
// holds, attempts and job ids (deterministic, so a retried step finds what the first one made).

import { randomBytes } from 'node:crypto';
import type { BatchRecord, CampaignRecord } from '../domain/types.js';
import type {
  LinkBuilder,
  OwnerDirectory,
  SubscriptionGuard,
  SuppressionList,
} from '../ports/app.js';
import type { CampaignStore } from '../ports/campaign-store.js';
import type { CreditLedger } from '../ports/credit-ledger.js';
import type { JobQueue, JobSpec } from '../ports/job-queue.js';
import {
  type Clock,
  type Logger,
  type Metrics,
  noopMetrics,
  silentLogger,
  systemClock,
} from '../ports/observability.js';
import type { RateLimiter } from '../ports/rate-limiter.js';
import type { SmsProvider } from '../ports/sms-provider.js';
import { type CountryCode, createPhoneNormalizer, type PhoneNormalizer } from '../text/phone.js';
import {
  type PipelineOptions,
  type ResolvedPipelineOptions,
  resolvePipelineOptions,
} from './options.js';

export interface PipelineDeps {
  store: CampaignStore;
  ledger: CreditLedger;
  provider: SmsProvider;
  queue: JobQueue;
  /** Per traffic account (and optionally per owner) budgets; absent: no limit. */
  limiter?: RateLimiter;
  /** Absent: nobody opted out. */
  suppression?: SuppressionList;
  /** Absent: every owner may send. */
  subscription?: SubscriptionGuard;
  owners?: OwnerDirectory;
  linkBuilder?: LinkBuilder;
  clock?: Clock;
  logger?: Logger;
  metrics?: Metrics;
  options?: PipelineOptions;
}

export interface Context {
  store: CampaignStore;
  ledger: CreditLedger;
  provider: SmsProvider;
  queue: JobQueue;
  limiter: RateLimiter | null;
  suppression: SuppressionList | null;
  subscription: SubscriptionGuard | null;
  owners: OwnerDirectory | null;
  linkBuilder: LinkBuilder | null;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  options: ResolvedPipelineOptions;
  normalizePhone: PhoneNormalizer;
}

export function createContext(deps: PipelineDeps): Context {
  const options = resolvePipelineOptions(deps.options);
  return {
    store: deps.store,
    ledger: deps.ledger,
    provider: deps.provider,
    queue: deps.queue,
    limiter: deps.limiter ?? null,
    suppression: deps.suppression ?? null,
    subscription: deps.subscription ?? null,
    owners: deps.owners ?? null,
    linkBuilder: deps.linkBuilder ?? null,
    clock: deps.clock ?? systemClock,
    logger: deps.logger ?? silentLogger,
    metrics: deps.metrics ?? noopMetrics,
    options,
    normalizePhone: createPhoneNormalizer(
      options.defaultCountry ? { defaultCountry: options.defaultCountry as CountryCode } : {},
    ),
  };
}

/** A short random token for ids (base36, no `:`, never all digits once prefixed). */
export function randomToken(bytes = 8): string {
  return BigInt(`0x${randomBytes(bytes).toString('hex')}`).toString(36);
}

export const holdIdOf = (campaignId: string, generation: number) =>
  `hold-${campaignId}-g${generation}`;
export const testHoldIdOf = (messageId: string) => `hold-${messageId}`;

export const planJob = (campaign: CampaignRecord, delayMs?: number): JobSpec => ({
  kind: 'plan',
  id: `plan-${campaign.id}-v${campaign.scheduleVersion}-c${campaign.plan.chunkNo}`,
  data: { campaignId: campaign.id, scheduleVersion: campaign.scheduleVersion },
  ...(delayMs && delayMs > 0 ? { delayMs } : {}),
});

export const batchJob = (batch: BatchRecord): JobSpec => ({
  kind: 'batch',
  id: `batch-${batch.campaignId}-${batch.batchNo}-r${batch.releases}`,
  data: { campaignId: batch.campaignId, batchNo: batch.batchNo },
});

export const singleJob = (batch: BatchRecord, messageId: string): JobSpec => ({
  kind: 'single',
  id: `single-${messageId}-r${batch.releases}`,
  data: { campaignId: batch.campaignId, batchNo: batch.batchNo, messageId },
});

export const testJob = (messageId: string): JobSpec => ({
  kind: 'test',
  id: `test-${messageId}`,
  data: { messageId },
});

/** Capped exponential backoff with full jitter. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(Math.random() * ceiling);
}
