import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidationError } from '../errors.js';
import { appendLink, isValidSender, prepareMessage, resolveSender } from './prepare.js';
import { compileTemplate } from './template.js';

const LINK = 'https://sms.example/u/42';

describe('isValidSender', () => {
  it.each(['Shop', 'ABC', 'My Shop 24', 'ShopName123', '+306912345678', '1234567890123456', '12'])(
    'accepts %j',
    (sender) => expect(isValidSender(sender)).toBe(true),
  );

  it.each(['AB', 'ShopName1234', 'Shöp', 'Shop!', '   ', '', '+12345678901234567', '+', 'Shop\n'])(
    'rejects %j',
    (sender) => expect(isValidSender(sender)).toBe(false),
  );
});

describe('resolveSender', () => {
  const issuesOf = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      if (isValidationError(error)) return error.issues;
      throw error;
    }
    throw new Error('expected a ValidationError');
  };

  it('takes the first sender given, message before campaign before owner before config', () => {
    expect(resolveSender([null, ' Campaign ', 'Owner', 'Config'])).toBe('Campaign');
    expect(resolveSender([undefined, '', '  ', 'Config'])).toBe('Config');
  });

  it('does not fall through past an invalid sender', () => {
    expect(
      issuesOf(() => resolveSender(['Too long a name', 'Owner'], ['campaign', 'sender'])),
    ).toEqual([
      {
        path: ['campaign', 'sender'],
        message:
          'invalid sender "Too long a name": use 3-11 letters, digits or spaces, or up to 16 digits with an optional leading +',
      },
    ]);
  });

  it('names the field when no sender is given at all', () => {
    expect(issuesOf(() => resolveSender([null, undefined, '']))).toEqual([
      { path: ['sender'], message: 'no sender given (message, campaign, owner or MITTO_SENDER)' },
    ]);
  });
});

describe('appendLink', () => {
  it('puts the link on its own line after the text', () => {
    expect(appendLink('Sale today! ', LINK)).toBe(`Sale today!\n${LINK}`);
    expect(appendLink('', LINK)).toBe(LINK);
  });

  it('does not add a link the text already has', () => {
    expect(appendLink(`Stop: ${LINK}. Thanks`, LINK)).toBe(`Stop: ${LINK}. Thanks`);
  });

  it('still adds the link when the text only has a longer URL that starts like it', () => {
    expect(appendLink(`See ${LINK}1`, LINK)).toBe(`See ${LINK}1\n${LINK}`);
  });

  it('leaves the text alone without a link', () => {
    expect(appendLink('Hi ', null)).toBe('Hi ');
    expect(appendLink('Hi ', '  ')).toBe('Hi ');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string(), fc.webUrl(), (text, link) => {
        const once = appendLink(text, link);
        expect(appendLink(once, link)).toBe(once);
        expect(once.includes(link)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('prepareMessage', () => {
  const template = compileTemplate(
    'Γεια σου {{firstName|φίλε}}! -20% σε όλα με τον κωδικό {{code}} ως την Κυριακή.',
  );

  it('renders, appends the link once, and costs segments under per-segment pricing', () => {
    const prepared = prepareMessage({
      template,
      vars: { firstName: 'Μαρία', code: 'SALE20' },
      link: LINK,
      pricing: 'per-segment',
    });
    expect(prepared).toEqual({
      text: `Γεια σου Μαρία! -20% σε όλα με τον κωδικό SALE20 ως την Κυριακή.\n${LINK}`,
      encoding: 'UCS-2',
      segments: 2,
      cost: 2,
    });
  });

  it('costs one credit per message under per-message pricing', () => {
    const prepared = prepareMessage({ template, vars: {}, link: LINK, pricing: 'per-message' });
    expect(prepared).toMatchObject({ segments: 2, cost: 1 });
  });

  it('smart-encodes when asked', () => {
    const prepared = prepareMessage({
      template: compileTemplate('ΕΚΠΤΩΣΕΙΣ \u2013 {{code}}'),
      vars: { code: 'ΤΩΡΑ' },
      link: LINK,
      pricing: 'per-segment',
      smartEncoding: true,
    });
    expect(prepared).toEqual({
      text: `EKΠTΩΣEIΣ - TΩPA\n${LINK}`,
      encoding: 'GSM-7',
      segments: 1,
      cost: 1,
    });
  });

  it('gives the same text when preparing its own output again, and costs at least one', () => {
    const braceless = fc
      .string({ unit: 'grapheme', maxLength: 300 })
      .filter((s) => !s.includes('{{') && !s.includes('}}'));
    fc.assert(
      fc.property(
        braceless,
        fc.option(fc.webUrl(), { nil: null }),
        fc.constantFrom('per-message' as const, 'per-segment' as const),
        fc.boolean(),
        (text, link, pricing, smartEncoding) => {
          const first = prepareMessage({
            template: compileTemplate(text),
            link,
            pricing,
            smartEncoding,
          });
          const again = prepareMessage({
            template: compileTemplate(first.text),
            link,
            pricing,
            smartEncoding,
          });
          expect(again).toEqual(first);
          expect(first.cost).toBeGreaterThanOrEqual(1);
          expect(first.cost).toBe(pricing === 'per-segment' ? first.segments : 1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
