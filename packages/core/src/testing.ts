// Conformance kits for adapters (`@smsbatch/core/testing`): run them in vitest against any
// implementation of the ports, ours or an app's own.

export {
  type CampaignStoreFixture,
  describeCampaignStore,
} from './internal/conformance/campaign-store.js';
export {
  type CreditLedgerFixture,
  describeCreditLedger,
} from './internal/conformance/credit-ledger.js';
export {
  describeRateLimiter,
  type RateLimiterFixture,
} from './internal/conformance/rate-limiter.js';
