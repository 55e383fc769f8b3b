// Where a message goes out from: the sender and the traffic account, each taken from the call,
// then the owner's settings, then the config (message → campaign → owner → config).

import { ValidationError } from '../errors.js';
import { resolveSender } from '../text/prepare.js';
import type { Context } from './context.js';

export interface Routing {
  sender: string;
  trafficAccountId: string;
}

export async function resolveRouting(
  ctx: Context,
  ownerId: string,
  given: { sender?: string | undefined; trafficAccountId?: string | undefined },
): Promise<Routing> {
  const settings = (await ctx.owners?.getSettings(ownerId)) ?? null;
  const sender = resolveSender([given.sender, settings?.sender, ctx.options.defaultSender]);
  const trafficAccountId = [
    given.trafficAccountId,
    settings?.trafficAccountId,
    ctx.options.defaultTrafficAccountId,
  ].find((value): value is string => typeof value === 'string' && value.trim() !== '');
  if (!trafficAccountId) {
    throw new ValidationError([
      {
        path: ['trafficAccountId'],
        message: 'no traffic account: give one, or configure the owner or MITTO_TRAFFIC_ACCOUNT_ID',
      },
    ]);
  }
  return { sender, trafficAccountId };
}
