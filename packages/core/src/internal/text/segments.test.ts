import fc from 'fast-check';
import { SegmentedMessage } from 'sms-segments-calculator';
import { describe, expect, it } from 'vitest';
import { countSegments } from './segments.js';

const RUNS = { numRuns: 300 };

const fromCodes = (min: number, max: number) =>
  fc.integer({ min, max }).map((code) => String.fromCodePoint(code));
const oneOf = (chars: string) => fc.constantFrom(...chars);

const gsmBasicSample = oneOf('@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r');
const gsmExtension = oneOf('\f^{}\\[~]|€');
const ascii = fromCodes(0x20, 0x7e);
// Printable ASCII is GSM-7 except for the backtick.
const gsmAscii = ascii.filter((c) => c !== '`');
const emoji = fromCodes(0x1f600, 0x1f64f);
const greek = fromCodes(0x0384, 0x03ce);
const otherBmp = fc.oneof(fromCodes(0x00a0, 0x00ff), fromCodes(0x0410, 0x044f), oneOf('中文字'));
// Characters both our table and the oracle's replace, and with the same thing.
const sharedSmart = oneOf(
  '\u201C\u201D\u201E\u201F\u00AB\u00BB\u2018\u2019\u201B\u2013\u2014\u2026\u2022\u203C\u2044\u2215\u00F7',
);

// Every unit here is one grapheme on its own: see "differences from the oracle" below.
const anyChar = fc.oneof(
  { arbitrary: ascii, weight: 6 },
  { arbitrary: gsmBasicSample, weight: 2 },
  { arbitrary: gsmExtension, weight: 2 },
  { arbitrary: greek, weight: 1 },
  { arbitrary: otherBmp, weight: 1 },
  { arbitrary: sharedSmart, weight: 1 },
  { arbitrary: emoji, weight: 1 },
);
const text = (maxLength = 400) => fc.string({ unit: anyChar, maxLength, size: 'max' });
const gsmText = (maxLength = 400) =>
  fc.string({
    unit: fc.oneof({ arbitrary: gsmAscii, weight: 3 }, gsmBasicSample, gsmExtension),
    maxLength,
    size: 'max',
  });
// Only characters that are GSM-7 or that smart encoding can turn into GSM-7.
const smartText = fc.string({
  unit: fc.oneof(
    { arbitrary: ascii, weight: 4 },
    gsmExtension,
    sharedSmart,
    oneOf('ΑΒΕΗΙΚΜΝΟΡΤΥΧ'),
  ),
  maxLength: 400,
  size: 'max',
});

const codePoints = (s: string) => [...s];

describe('countSegments: examples', () => {
  it('fits 160 GSM-7 septets in one segment and 153 per part beyond', () => {
    expect(countSegments('a'.repeat(160))).toMatchObject({
      segments: 1,
      units: 160,
      perSegment: 160,
    });
    expect(countSegments('a'.repeat(161))).toMatchObject({ segments: 2, perSegment: 153 });
    expect(countSegments('a'.repeat(306)).segments).toBe(2);
    expect(countSegments('a'.repeat(307)).segments).toBe(3);
  });

  it('charges two septets for extension characters and never splits their escape', () => {
    expect(countSegments('€'.repeat(80))).toMatchObject({
      encoding: 'GSM-7',
      segments: 1,
      units: 160,
    });
    expect(countSegments('€'.repeat(81)).segments).toBe(2);
    // 306 septets would fill two parts exactly if the € could straddle the boundary.
    expect(countSegments(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toMatchObject({
      units: 306,
      segments: 3,
    });
  });

  it('keeps the Greek capitals of the GSM-7 table and switches to UCS-2 on lowercase Greek', () => {
    expect(countSegments('ΓΔΘΛΞΠΣΦΨΩ').encoding).toBe('GSM-7');
    expect(countSegments('ΚΑΛΗΜΕΡΑ')).toMatchObject({
      encoding: 'UCS-2',
      nonGsmCharacters: ['Κ', 'Α', 'Η', 'Μ', 'Ε', 'Ρ'],
    });
    expect(countSegments('ΣΑΣ ευχαριστούμε').encoding).toBe('UCS-2');
  });

  it('fits 70 UCS-2 units in one segment and 67 per part beyond', () => {
    expect(countSegments('ж'.repeat(70))).toMatchObject({ segments: 1, units: 70, perSegment: 70 });
    expect(countSegments('ж'.repeat(71))).toMatchObject({ segments: 2, perSegment: 67 });
    expect(countSegments('ж'.repeat(134)).segments).toBe(2);
    expect(countSegments('ж'.repeat(135)).segments).toBe(3);
  });

  it('counts an emoji as two units and never splits it', () => {
    expect(countSegments('😀'.repeat(35))).toMatchObject({ segments: 1, units: 70 });
    // 134 units would fill two parts if an emoji could straddle the boundary.
    expect(countSegments(`жж${'😀'.repeat(66)}`)).toMatchObject({ units: 134, segments: 3 });
    expect(countSegments('Hi 😀😀!').nonGsmCharacters).toEqual(['😀']);
  });

  it('counts an empty text as one segment of nothing', () => {
    expect(countSegments('')).toMatchObject({ encoding: 'GSM-7', segments: 1, units: 0 });
  });
});

describe('countSegments: smart encoding', () => {
  it('replaces typography and Latin-looking Greek capitals, and says what it replaced', () => {
    const result = countSegments('\u201CΚΑΛΗ\u00A0ΤΥΧΗ\u201D \u2014 ΑΠΟ 10\u2026', {
      smartEncoding: true,
    });
    expect(result).toMatchObject({ encoding: 'GSM-7', text: '"KAΛH TYXH" - AΠO 10...' });
    expect(result.replacements).toEqual([
      { from: '\u201C', to: '"', count: 1 },
      { from: 'Κ', to: 'K', count: 1 },
      { from: 'Α', to: 'A', count: 2 },
      { from: 'Η', to: 'H', count: 2 },
      { from: '\u00A0', to: ' ', count: 1 },
      { from: 'Τ', to: 'T', count: 1 },
      { from: 'Υ', to: 'Y', count: 1 },
      { from: 'Χ', to: 'X', count: 1 },
      { from: '\u201D', to: '"', count: 1 },
      { from: '\u2014', to: '-', count: 1 },
      { from: 'Ο', to: 'O', count: 1 },
      { from: '\u2026', to: '...', count: 1 },
    ]);
  });

  it('leaves the text as written when something in it has no GSM-7 stand-in', () => {
    const result = countSegments('\u201CHi\u201D 😀', { smartEncoding: true });
    expect(result).toMatchObject({
      encoding: 'UCS-2',
      text: '\u201CHi\u201D 😀',
      replacements: [],
    });
  });

  it('leaves the text as written when the replacements would cost more segments', () => {
    // 70 ellipses are one UCS-2 segment; as 210 dots they would be two GSM-7 ones.
    const result = countSegments('\u2026'.repeat(70), { smartEncoding: true });
    expect(result).toMatchObject({ encoding: 'UCS-2', segments: 1, replacements: [] });
  });

  it('is off unless asked for', () => {
    expect(countSegments('\u2019').encoding).toBe('UCS-2');
  });
});

describe('countSegments: properties', () => {
  it('never takes fewer segments for a longer text', () => {
    fc.assert(
      fc.property(text(), fc.nat(), (s, at) => {
        const chars = codePoints(s);
        const prefix = chars.slice(0, at % (chars.length + 1)).join('');
        expect(countSegments(prefix).segments).toBeLessThanOrEqual(countSegments(s).segments);
      }),
      RUNS,
    );
  });

  it('puts GSM-7 text of up to 160 septets in one segment', () => {
    fc.assert(
      fc.property(gsmText(160), (s) => {
        const count = countSegments(s);
        expect(count.encoding).toBe('GSM-7');
        if (count.units <= 160) expect(count.segments).toBe(1);
        else expect(count.segments).toBeGreaterThan(1);
      }),
      RUNS,
    );
  });

  it('splits UCS-2 text at 70 units, then in parts of 67', () => {
    fc.assert(
      fc.property(fc.string({ unit: otherBmp, maxLength: 400, size: 'max' }), (s) => {
        const withUcs2 = `ж${s}`;
        const { units, segments } = countSegments(withUcs2);
        expect(segments).toBe(units <= 70 ? 1 : Math.ceil(units / 67));
      }),
      RUNS,
    );
  });

  it('never splits an escape pair across parts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 81, max: 500 }), fc.integer({ min: 0, max: 9 }), (n, k) => {
        // k single septets, then n two-septet characters: the first part (153 septets) takes
        // as many whole pairs as fit after the k, every later part takes 76.
        const firstPart = Math.floor((153 - k) / 2);
        const expected = 1 + Math.ceil((n - firstPart) / 76);
        expect(countSegments(`${'a'.repeat(k)}${'€'.repeat(n)}`).segments).toBe(expected);
      }),
      RUNS,
    );
  });

  it('never splits a surrogate pair: 33 emoji per concatenated part', () => {
    fc.assert(
      fc.property(fc.integer({ min: 36, max: 300 }), (n) => {
        expect(countSegments('😀'.repeat(n)).segments).toBe(Math.ceil(n / 33));
      }),
      RUNS,
    );
  });

  it('never costs more segments with smart encoding, and what it sends is GSM-7 or untouched', () => {
    fc.assert(
      fc.property(fc.oneof(text(), smartText), (s) => {
        const plain = countSegments(s);
        const smart = countSegments(s, { smartEncoding: true });
        expect(smart.segments).toBeLessThanOrEqual(plain.segments);
        if (smart.replacements.length > 0) expect(smart.encoding).toBe('GSM-7');
        else expect(smart.text).toBe(s);
        expect(countSegments(smart.text)).toEqual({ ...smart, replacements: [] });
      }),
      RUNS,
    );
  });
});

// The oracle is Twilio's calculator. Where it differs from our rules on purpose:
// - It never splits a grapheme cluster (flags, ZWJ sequences, letters with combining marks);
//   networks split on code units and we only keep surrogate pairs whole. The generators emit
//   only characters that are a grapheme on their own, so both agree on where parts may end.
// - Its `getNonGsmCharacters()` lists every occurrence; ours lists each character once.
// - Its smart encoding maps a no-break space to two spaces and a tab to seven, is applied
//   even when the text stays UCS-2 or costs more, and has no Greek capitals. The smart-encoding
//   comparison uses only characters both tables replace the same way and compares only when
//   we applied it.
describe('countSegments against sms-segments-calculator', () => {
  const oracle = (s: string, smart = false) => {
    const message = new SegmentedMessage(s, 'auto', smart);
    const bitsPerUnit = message.encodingName === 'GSM-7' ? 7 : 16;
    return {
      encoding: message.encodingName,
      segments: message.segmentsCount,
      units: message.messageSize / bitsPerUnit,
      nonGsmCharacters: [...new Set(message.getNonGsmCharacters())],
      text: message.graphemes.join(''),
    };
  };

  it('agrees on encoding, units, segments and offending characters', () => {
    fc.assert(
      fc.property(fc.oneof(text(), gsmText(), text(80)), (s) => {
        const ours = countSegments(s);
        expect({
          encoding: ours.encoding,
          segments: ours.segments,
          units: ours.units,
          nonGsmCharacters: ours.nonGsmCharacters,
          text: ours.text,
        }).toEqual(oracle(s));
      }),
      { numRuns: 300 },
    );
  });

  it('differs on a flag at a part boundary: we split between its two code points, it does not', () => {
    const s = `${'ж'.repeat(65)}🇬🇷${'ж'.repeat(65)}`;
    expect(countSegments(s)).toMatchObject({ units: 134, segments: 2 });
    expect(oracle(s)).toMatchObject({ units: 134, segments: 3 });
  });

  it('agrees on the smart-encoded text whenever we apply it', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(ascii, gsmExtension, sharedSmart),
          maxLength: 400,
          size: 'max',
        }),
        (s) => {
          const ours = countSegments(s, { smartEncoding: true });
          fc.pre(ours.replacements.length > 0);
          const theirs = oracle(s, true);
          expect({ encoding: ours.encoding, segments: ours.segments, text: ours.text }).toEqual({
            encoding: theirs.encoding,
            segments: theirs.segments,
            text: theirs.text,
          });
        },
      ),
      RUNS,
    );
  });
});
