// `createSmsPipeline`: the whole send protocol over the ports, with no framework, queue library
// or database. Apps call its services; workers (the in-process queue, BullMQ) call `handleJob`.

import type { DeliveryEvent } from '../domain/types.js';
import type { Balance } from '../ports/credit-ledger.js';
import type { Job, JobOutcome } from '../ports/job-queue.js';
import { createCampaignService } from './campaigns.js';
import { createContext, type PipelineDeps } from './context.js';
import { receiveDeliveryEvents } from './delivery.js';
import { handleJob } from './jobs.js';
import { reconcile } from './reconciler.js';
import { refreshStatuses } from './refresh.js';
import { createMessageService } from './test-sends.js';

export function createSmsPipeline(deps: PipelineDeps) {
  const ctx = createContext(deps);
  return {
    campaigns: createCampaignService(ctx),
    messages: createMessageService(ctx),
    /** Applies parsed delivery reports (a webhook's body); duplicates are no-ops. */
    receiveDeliveryReports: (events: readonly DeliveryEvent[], raw?: readonly unknown[]) =>
      receiveDeliveryEvents(ctx, events, 'webhook', raw),
    balance: (ownerId: string): Promise<Balance> => ctx.ledger.balance(ownerId),
    /** Looks up a bulk's `sent` messages now. */
    refreshBulkStatuses: (bulkId: string) => refreshStatuses(ctx, { bulkId }),
    /** Looks up a campaign's `sent` messages now. */
    refreshCampaignStatuses: (campaignId: string) => refreshStatuses(ctx, { campaignId }),
    /** The periodic sweep over `sent` messages with no final report after a while. */
    sweepStatuses: () => refreshStatuses(ctx, {}),
    reconcile: () => reconcile(ctx),
    handleJob: (job: Job): Promise<JobOutcome> => handleJob(ctx, job),
    options: ctx.options,
  };
}

export type SmsPipeline = ReturnType<typeof createSmsPipeline>;
