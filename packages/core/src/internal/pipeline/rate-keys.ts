// The limiter keys the pipeline takes budget from, and the limits config gives them: one budget
// per traffic account (sends), one for its status lookups, and an optional one per owner.

import type { SmsConfig } from '../config.js';
import type { RateLimit } from '../ports/rate-limiter.js';

const ACCOUNT = 'ta-';
const OWNER = 'owner-';
const LOOKUP_SUFFIX = '-lookup';

export const trafficAccountKey = (trafficAccountId: string) => `${ACCOUNT}${trafficAccountId}`;
export const lookupKey = (trafficAccountId: string) =>
  `${ACCOUNT}${trafficAccountId}${LOOKUP_SUFFIX}`;
export const ownerKey = (ownerId: string) => `${OWNER}${ownerId}`;

type RateConfig = Pick<
  SmsConfig,
  | 'TRAFFIC_ACCOUNT_RATE_MAX'
  | 'TRAFFIC_ACCOUNT_RATE_DURATION_MS'
  | 'TRAFFIC_ACCOUNT_RATE_OVERRIDES'
  | 'OWNER_RATE_MAX'
  | 'OWNER_RATE_DURATION_MS'
>;

/** The `limits` function for a RateLimiter, from `TRAFFIC_ACCOUNT_RATE_*` and `OWNER_RATE_*`. */
export function rateLimitsFromConfig(config: RateConfig): (key: string) => RateLimit | null {
  const accountDefault: RateLimit | null =
    config.TRAFFIC_ACCOUNT_RATE_MAX === undefined
      ? null
      : {
          max: config.TRAFFIC_ACCOUNT_RATE_MAX,
          durationMs: config.TRAFFIC_ACCOUNT_RATE_DURATION_MS,
        };
  const ownerLimit: RateLimit | null =
    config.OWNER_RATE_MAX === undefined
      ? null
      : { max: config.OWNER_RATE_MAX, durationMs: config.OWNER_RATE_DURATION_MS };
  return (key) => {
    if (key.startsWith(OWNER)) return ownerLimit;
    if (!key.startsWith(ACCOUNT)) return null;
    const id = key.slice(ACCOUNT.length).replace(new RegExp(`${LOOKUP_SUFFIX}$`), '');
    return config.TRAFFIC_ACCOUNT_RATE_OVERRIDES?.[id] ?? accountDefault;
  };
}
