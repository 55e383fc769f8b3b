import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMessageValidator, createOutboundSchema } from './validate.js';
import { looksLikeSendResponse, sendResponseSchema } from './wire.js';

// The hand-written fast paths must agree with the zod schemas they stand in for.

const tricky = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '',
    ' ',
    '+',
    '+0',
    '+1234567',
    '+123456789012345',
    '+1234567890123456',
    'Shop',
    'AB',
    'ABC',
    'My Shop 24',
    '+12',
    '12345678901234567',
    'x'.repeat(50),
    'x'.repeat(51),
    'Shöp',
    '\n',
  ),
  fc.stringMatching(/^\+?[0-9]{0,17}$/),
  fc.stringMatching(/^[A-Za-z0-9 ]{0,12}$/),
  fc.string({ unit: fc.constantFrom(' ', '\u00a0', '\t', '\u3000', 'a', '1', '+') }),
  fc.integer(),
  fc.constant(null),
  fc.constant(undefined),
);

const message = fc.record(
  {
    reference: tricky,
    destination: tricky,
    text: tricky,
    sender: tricky,
    trafficAccountId: tricky,
  },
  { requiredKeys: [] },
);

describe('outbound validation', () => {
  for (const sendReference of [true, false]) {
    it(`the fast check agrees with the zod schema (sendReference ${sendReference})`, () => {
      const rules = { sendReference, maxReferenceLength: 50 };
      const schema = createOutboundSchema(rules);
      // A fresh validator per sequence: it remembers the last good sender and account, so the
      // order of messages matters and is part of what is generated.
      fc.assert(
        fc.property(fc.array(message, { minLength: 1, maxLength: 6 }), (messages) => {
          const validate = createMessageValidator(rules);
          for (const m of messages) {
            expect(validate(m, []).length === 0).toBe(schema.safeParse(m).success);
          }
        }),
        { numRuns: 4000 },
      );
    });
  }

  it('prefixes the issue path', () => {
    const validate = createMessageValidator({ sendReference: true, maxReferenceLength: 50 });
    const issues = validate(
      {
        reference: 'r',
        destination: '+306912345678',
        text: 'x',
        sender: 'S',
        trafficAccountId: 't',
      },
      ['messages', 4],
    );
    expect(issues).toEqual([
      { path: ['messages', 4, 'sender'], message: expect.stringContaining('sender') },
    ]);
  });
});

describe('send answer check', () => {
  const item = fc.record(
    {
      messageId: fc.oneof(fc.string(), fc.constant(null), fc.constant(undefined), fc.integer()),
      trafficAccountId: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
      error: fc.anything(),
    },
    { requiredKeys: [] },
  );
  const answer = fc.oneof(
    fc.record(
      {
        bulkId: fc.oneof(fc.string(), fc.constant(null), fc.integer()),
        messages: fc.oneof(fc.array(fc.oneof(item, fc.anything())), fc.anything()),
      },
      { requiredKeys: [] },
    ),
    fc.anything(),
  );

  it('the fast check agrees with the zod schema', () => {
    fc.assert(
      fc.property(answer, (json) => {
        expect(looksLikeSendResponse(json)).toBe(sendResponseSchema.safeParse(json).success);
      }),
      { numRuns: 3000 },
    );
  });
});
