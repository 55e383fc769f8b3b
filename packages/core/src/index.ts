// Public entry point of @smsbatch/core: the domain model and its state machines, the ports, the
// send pipeline, the text and phone rules, the config schema, and an in-memory adapter for every
// port (the embedded defaults).

export { loadConfig, parseConfig, type SmsConfig, type SmsConfigInput } from './internal/config.js';
export * from './internal/domain/status.js';
export type * from './internal/domain/types.js';
export * from './internal/errors.js';
export {
  createMemoryOwnerDirectory,
  createMemorySubscriptionGuard,
  createMemorySuppressionList,
  type MemoryOwnerDirectory,
  type MemorySubscriptionGuard,
  type MemorySuppressionList,
} from './internal/memory/app-ports.js';
export { createMemoryStore, type MemoryCampaignStore } from './internal/memory/campaign-store.js';
export { createMemoryLedger, type MemoryLedgerOptions } from './internal/memory/credit-ledger.js';
export {
  createMemoryQueue,
  type MemoryQueue,
  type MemoryQueueOptions,
  type MemoryQueueStats,
} from './internal/memory/job-queue.js';
export {
  assertRateLimit,
  assertRateWeight,
  createMemoryRateLimiter,
  type MemoryRateLimiter,
  type MemoryRateLimiterOptions,
} from './internal/memory/rate-limiter.js';
export type {
  CampaignService,
  CampaignStatusView,
  CampaignSummary,
  CreateCampaignInput,
} from './internal/pipeline/campaigns.js';
export type { PipelineDeps } from './internal/pipeline/context.js';
export type { DeliveryReportSummary } from './internal/pipeline/delivery.js';
export {
  type PipelineOptions,
  pipelineOptionsFromConfig,
  pipelineOptionsSchema,
  type ResolvedPipelineOptions,
  resolvePipelineOptions,
} from './internal/pipeline/options.js';
export { createSmsPipeline, type SmsPipeline } from './internal/pipeline/pipeline.js';
export {
  lookupKey,
  ownerKey,
  rateLimitsFromConfig,
  trafficAccountKey,
} from './internal/pipeline/rate-keys.js';
export type { ReconcileReport } from './internal/pipeline/reconciler.js';
export type { RefreshReport } from './internal/pipeline/refresh.js';
export { asProviderFailure } from './internal/pipeline/sender.js';
export type { MessageService, TestSendInput } from './internal/pipeline/test-sends.js';
export {
  batchOf,
  chooseBatchSize,
  cutBatches,
  MAX_BATCH_SIZE,
  MAX_DYNAMIC_BATCH_SIZE,
  MIN_DYNAMIC_BATCH_SIZE,
} from './internal/planning/batch-size.js';
export type * from './internal/ports/app.js';
export type * from './internal/ports/campaign-store.js';
export type * from './internal/ports/credit-ledger.js';
export type * from './internal/ports/job-queue.js';
export * from './internal/ports/observability.js';
export type * from './internal/ports/rate-limiter.js';
export type * from './internal/ports/sms-provider.js';
export {
  type CountryCode,
  createPhoneNormalizer,
  type NormalizedPhone,
  normalizePhone,
  type PhoneNormalizer,
  type PhoneOptions,
  type PhoneRejection,
} from './internal/text/phone.js';
export {
  appendLink,
  type CompiledTemplate,
  type CreditPricing,
  compileTemplate,
  isValidSender,
  type PreparedMessage,
  type PrepareMessageInput,
  prepareMessage,
  resolveSender,
  type TemplateVars,
  validateTemplate,
} from './internal/text/prepare.js';
export {
  type CountSegmentsOptions,
  countSegments,
  GSM_MULTI_SEGMENT,
  GSM_SINGLE_SEGMENT,
  type SegmentCount,
  type SmartReplacement,
  UCS2_MULTI_SEGMENT,
  UCS2_SINGLE_SEGMENT,
} from './internal/text/segments.js';
