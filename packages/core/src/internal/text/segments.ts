// Counts the SMS segments a text costs, the way the network splits it: GSM-7 (3GPP TS 23.038)
// when every character fits, UCS-2 otherwise. It runs once per recipient on million-recipient
// campaigns, so it works on char codes against tables built once at load, never per-char regexes.

import type { Encoding } from '../domain/types.js';

export interface SmartReplacement {
  from: string;
  to: string;
  count: number;
}

export interface SegmentCount {
  encoding: Encoding;
  /** Parts the message is split into; an empty text still takes one. */
  segments: number;
  /** Septets for GSM-7 (extension characters count two), UTF-16 code units for UCS-2. */
  units: number;
  /** What one segment holds: 160 or 153 septets, 70 or 67 code units. */
  perSegment: number;
  /** The distinct characters that forced UCS-2, in order of appearance. */
  nonGsmCharacters: string[];
  /** The text as it will be sent: smart-encoded when that was asked for and applied. */
  text: string;
  /** What smart encoding replaced; empty when it was not asked for or not applied. */
  replacements: SmartReplacement[];
}

export interface CountSegmentsOptions {
  /**
   * Replace typographic look-alikes (curly quotes, dashes, ellipsis, odd spaces, Greek capitals
   * that look Latin) with GSM-7 characters. Applied only when it makes the whole text GSM-7
   * without costing more segments; otherwise the text is sent as written.
   */
  smartEncoding?: boolean;
}

export const GSM_SINGLE_SEGMENT = 160;
export const GSM_MULTI_SEGMENT = 153;
export const UCS2_SINGLE_SEGMENT = 70;
export const UCS2_MULTI_SEGMENT = 67;

// The basic table in code order (0x1B, the escape to the extension table, left out).
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
// Reached through the escape, so each costs two septets.
const GSM_EXTENSION = '\f^{}\\[~]|€';

// Septets per UTF-16 code unit, 0 for "not in GSM-7"; sized to the highest GSM code unit (€).
const GSM_WIDTH = (() => {
  const all = GSM_BASIC + GSM_EXTENSION;
  let size = 0;
  for (let i = 0; i < all.length; i++) size = Math.max(size, all.charCodeAt(i) + 1);
  const table = new Uint8Array(size);
  for (let i = 0; i < GSM_BASIC.length; i++) table[GSM_BASIC.charCodeAt(i)] = 1;
  for (let i = 0; i < GSM_EXTENSION.length; i++) table[GSM_EXTENSION.charCodeAt(i)] = 2;
  return table;
})();

const gsmWidth = (code: number): number => (code < GSM_WIDTH.length ? GSM_WIDTH[code]! : 0);

// Replacement, then the characters it stands for. Every replacement is GSM-7 (checked below),
// so smart-encoded text is a fixed point: encoding it again changes nothing.
const SMART_GROUPS: readonly (readonly [to: string, from: string])[] = [
  ['"', '\u201C\u201D\u201E\u201F\u00AB\u00BB\u2033\u301D\u301E'],
  ["'", '\u2018\u2019\u201A\u201B\u2032\u2039\u203A\u0060\u00B4\u02B9\u02BC\u02C8'],
  ['-', '\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\u2022'],
  // The Greek question mark looks like, and is canonically, a semicolon.
  [';', '\u037E'],
  ['...', '\u2026'],
  [
    ' ',
    '\t\u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u202F\u205F\u3000\u2028\u2029',
  ],
  // Invisible: soft hyphen, zero-width space, word joiner, byte order mark.
  ['', '\u00AD\u200B\u2060\uFEFF'],
  ['!!', '\u203C'],
  ['/', '\u2044\u2215\u00F7'],
  ['*', '\u2217\u204E'],
  ['x', '\u00D7'],
  // Greek capitals with a Latin twin; accented capitals lose the accent, as Greek all-caps
  // writing does anyway. The other capitals (Γ Δ Θ …) are GSM-7 already.
  ['A', 'ΑΆ'],
  ['B', 'Β'],
  ['E', 'ΕΈ'],
  ['Z', 'Ζ'],
  ['H', 'ΗΉ'],
  ['I', 'ΙΊΪ'],
  ['K', 'Κ'],
  ['M', 'Μ'],
  ['N', 'Ν'],
  ['O', 'ΟΌ'],
  ['P', 'Ρ'],
  ['T', 'Τ'],
  ['Y', 'ΥΎΫ'],
  ['X', 'Χ'],
  ['Ω', 'Ώ'],
];

const SMART_MAP = (() => {
  const map = new Map<number, string>();
  for (const [to, from] of SMART_GROUPS) {
    for (let i = 0; i < from.length; i++) map.set(from.charCodeAt(i), to);
  }
  // Full-width ASCII (U+FF01–FF5E) mirrors U+0021–007E.
  for (let code = 0xff01; code <= 0xff5e; code++) map.set(code, String.fromCharCode(code - 0xfee0));
  for (const [code, to] of map) {
    let fits = gsmWidth(code) === 0;
    for (let i = 0; i < to.length; i++) fits &&= gsmWidth(to.charCodeAt(i)) > 0;
    if (!fits) map.delete(code);
  }
  return map;
})();

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * How many segments `text` costs. An empty text counts as one segment of zero units: it is what
 * the network would bill if it were sent, and it keeps per-segment costs at one or more (callers
 * reject empty texts before they get here).
 */
export function countSegments(text: string, options?: CountSegmentsOptions): SegmentCount {
  const plain = measure(text);
  if (!options?.smartEncoding || plain.encoding === 'GSM-7') return plain;
  const smart = smartEncode(text);
  if (smart === null) return plain;
  const encoded = measure(smart.text);
  if (encoded.segments > plain.segments) return plain;
  return { ...encoded, replacements: smart.replacements };
}

function measure(text: string): SegmentCount {
  let septets = 0;
  let segments = 1;
  let fill = 0;
  for (let i = 0; i < text.length; i++) {
    const width = gsmWidth(text.charCodeAt(i));
    if (width === 0) return measureUcs2(text);
    septets += width;
    fill += width;
    // Greedy fill of concatenated parts; an escape pair that does not fit moves whole.
    if (fill > GSM_MULTI_SEGMENT) {
      segments++;
      fill = width;
    }
  }
  const single = septets <= GSM_SINGLE_SEGMENT;
  return {
    encoding: 'GSM-7',
    segments: single ? 1 : segments,
    units: septets,
    perSegment: single ? GSM_SINGLE_SEGMENT : GSM_MULTI_SEGMENT,
    nonGsmCharacters: [],
    text,
    replacements: [],
  };
}

function measureUcs2(text: string): SegmentCount {
  const nonGsm: string[] = [];
  // Keyed by code point, so a repeated character costs a lookup and no string.
  const seen = new Set<number>();
  let segments = 1;
  let fill = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // A surrogate pair is one character and is never cut between two parts.
    const size = isHighSurrogate(code) && isLowSurrogate(text.charCodeAt(i + 1)) ? 2 : 1;
    if (size === 2 || gsmWidth(code) === 0) {
      const point = size === 2 ? text.codePointAt(i)! : code;
      if (!seen.has(point)) {
        seen.add(point);
        nonGsm.push(text.slice(i, i + size));
      }
    }
    fill += size;
    if (fill > UCS2_MULTI_SEGMENT) {
      segments++;
      fill = size;
    }
    i += size - 1;
  }
  const single = text.length <= UCS2_SINGLE_SEGMENT;
  return {
    encoding: 'UCS-2',
    segments: single ? 1 : segments,
    units: text.length,
    perSegment: single ? UCS2_SINGLE_SEGMENT : UCS2_MULTI_SEGMENT,
    nonGsmCharacters: nonGsm,
    text,
    replacements: [],
  };
}

// Null when some character has no GSM-7 stand-in: the text stays UCS-2 whatever we replace,
// and rewriting it would only change what the recipient reads.
function smartEncode(text: string): { text: string; replacements: SmartReplacement[] } | null {
  const found = new Map<number, SmartReplacement>();
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (gsmWidth(code) > 0) continue;
    const to = SMART_MAP.get(code);
    if (to === undefined) return null;
    out += text.slice(copied, i) + to;
    copied = i + 1;
    const replacement = found.get(code);
    if (replacement) replacement.count++;
    else found.set(code, { from: text[i]!, to, count: 1 });
  }
  return { text: out + text.slice(copied), replacements: [...found.values()] };
}
