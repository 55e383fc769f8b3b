// Test sends: one message to one phone, outside any campaign, through the same claim/send/record
// protocol and the same ledger (a hold of its own), on a job kind the queue runs first.

import { z } from 'zod';
import type { MessageRecord } from '../domain/types.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { compileTemplate, prepareMessage } from '../text/prepare.js';
import { parseInput } from '../validation.js';
import { type Context, randomToken, testHoldIdOf, testJob } from './context.js';
import { resolveRouting } from './routing.js';

const testSchema = z
  .object({
    to: z.string().min(1).max(64),
    text: z.string().min(1).max(5000),
    sender: z.string().optional(),
    trafficAccountId: z.string().min(1).max(128).optional(),
  })
  .strict();

export type TestSendInput = z.input<typeof testSchema>;

export function createMessageService(ctx: Context) {
  return {
    async sendTest(ownerId: string, input: TestSendInput): Promise<{ id: string }> {
      const parsed = parseInput(testSchema, input);
      const phone = ctx.normalizePhone(parsed.to);
      if (!phone.ok) {
        throw new ValidationError([{ path: ['to'], message: `invalid phone: ${phone.reason}` }]);
      }
      const { sender, trafficAccountId } = await resolveRouting(ctx, ownerId, parsed);
      const prepared = prepareMessage({
        template: compileTemplate(parsed.text),
        vars: {},
        link: null,
        pricing: ctx.options.pricing,
        smartEncoding: ctx.options.smartEncoding,
      });
      const now = ctx.clock.now();
      const id = `t${now.toString(36)}${randomToken(6)}`;
      await ctx.ledger.reserve(ownerId, prepared.cost, testHoldIdOf(id), {
        messageId: id,
        reason: 'test send',
      });
      await ctx.store.insertMessages([
        {
          id,
          kind: 'test',
          campaignId: null,
          ownerId,
          seq: 0,
          batchNo: null,
          contactId: null,
          phone: phone.e164,
          text: prepared.text,
          sender,
          trafficAccountId,
          encoding: prepared.encoding,
          segments: prepared.segments,
          cost: prepared.cost,
          status: 'queued',
          error: null,
          isRetryable: false,
          createdAt: now,
        },
      ]);
      await ctx.queue.enqueue([testJob(id)]);
      return { id };
    },

    /** A message of the owner's (campaign or test); another owner's is "not found". */
    async get(ownerId: string, id: string): Promise<MessageRecord> {
      const message = await ctx.store.getMessage(id);
      if (!message || message.ownerId !== ownerId) throw new NotFoundError('message', id);
      return message;
    },
  };
}

export type MessageService = ReturnType<typeof createMessageService>;
