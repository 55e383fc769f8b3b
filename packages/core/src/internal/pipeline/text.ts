// One place that turns a campaign's template and a recipient into the text that is sent and
// what it costs; used by create (the cost reserved at enqueue) and by the planner (what is
// sent), so both always agree.

import type { CampaignRecord, Encoding, RecipientRow } from '../domain/types.js';
import { compileTemplate, prepareMessage } from '../text/prepare.js';
import type { Context } from './context.js';

export interface PreparedText {
  text: string;
  encoding: Encoding;
  segments: number;
  cost: number;
}

export function createTextPreparer(
  ctx: Context,
  campaign: Pick<CampaignRecord, 'id' | 'ownerId' | 'text'>,
): (recipient: Pick<RecipientRow, 'contactId' | 'vars'>) => PreparedText {
  const template = compileTemplate(campaign.text);
  const { pricing, smartEncoding } = ctx.options;
  return (recipient) =>
    prepareMessage({
      template,
      vars: recipient.vars,
      link:
        ctx.linkBuilder?.({
          ownerId: campaign.ownerId,
          campaignId: campaign.id,
          contactId: recipient.contactId,
        }) ?? null,
      pricing,
      smartEncoding,
    });
}
