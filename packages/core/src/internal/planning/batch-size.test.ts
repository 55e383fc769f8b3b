import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidationError } from '../errors.js';
import { batchOf, chooseBatchSize, cutBatches } from './batch-size.js';

const RUNS = { numRuns: 300 };

describe('chooseBatchSize', () => {
  it('gives small campaigns small batches and large ones at most 500', () => {
    expect(chooseBatchSize(0)).toBe(100);
    expect(chooseBatchSize(1_000)).toBe(100);
    expect(chooseBatchSize(4_000)).toBe(200);
    expect(chooseBatchSize(10_000)).toBe(500);
    expect(chooseBatchSize(1_000_000)).toBe(500);
  });

  it('lets SMS_BATCH_SIZE win, capped at 1,000', () => {
    expect(chooseBatchSize(1_000_000, 50)).toBe(50);
    expect(chooseBatchSize(10, 1)).toBe(1);
    expect(chooseBatchSize(10, 5_000)).toBe(1_000);
    expect(chooseBatchSize(10, null)).toBe(100);
  });

  it.each([0, -5, 2.5, Number.NaN])('rejects an override of %s', (override) => {
    let thrown: unknown;
    try {
      chooseBatchSize(10, override);
    } catch (error) {
      thrown = error;
    }
    expect(isValidationError(thrown) && thrown.issues).toEqual([
      { path: ['SMS_BATCH_SIZE'], message: 'must be a positive integer' },
    ]);
  });

  it('rejects a negative or fractional total', () => {
    expect(() => chooseBatchSize(-1)).toThrow(/total: must be a non-negative integer/);
    expect(() => chooseBatchSize(1.5)).toThrow(/total/);
  });

  it('stays within 100–500 and never shrinks as campaigns grow', () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.nat(10_000_000), (a, b) => {
        const [small, large] = a <= b ? [a, b] : [b, a];
        const size = chooseBatchSize(small);
        expect(size).toBeGreaterThanOrEqual(100);
        expect(size).toBeLessThanOrEqual(500);
        expect(chooseBatchSize(large)).toBeGreaterThanOrEqual(size);
      }),
      RUNS,
    );
  });
});

describe('cutBatches and batchOf', () => {
  it('cuts full batches and a shorter last one', () => {
    expect(cutBatches(0, 100)).toEqual([]);
    expect(cutBatches(250, 100)).toEqual([100, 100, 50]);
    expect(cutBatches(200, 100)).toEqual([100, 100]);
    expect(cutBatches(7, 1)).toEqual([1, 1, 1, 1, 1, 1, 1]);
  });

  it('rejects sizes outside 1–1,000', () => {
    expect(() => cutBatches(10, 0)).toThrow(/size: must be an integer from 1 to 1000/);
    expect(() => cutBatches(10, 1_001)).toThrow(/size/);
    expect(() => batchOf(-1, 10)).toThrow(/ordinal/);
  });

  it('puts every message in exactly one batch, all full but possibly the last', () => {
    fc.assert(
      fc.property(fc.nat(200_000), fc.integer({ min: 1, max: 1_000 }), (count, size) => {
        const sizes = cutBatches(count, size);
        expect(sizes.reduce((sum, n) => sum + n, 0)).toBe(count);
        expect(sizes.every((n) => n >= 1 && n <= size)).toBe(true);
        expect(sizes.slice(0, -1).every((n) => n === size)).toBe(true);
      }),
      RUNS,
    );
  });

  it('agrees with batchOf on which batch each message falls in', () => {
    fc.assert(
      fc.property(fc.nat(5_000), fc.integer({ min: 1, max: 1_000 }), (count, size) => {
        const fromOrdinals: number[] = [];
        for (let ordinal = 0; ordinal < count; ordinal++) {
          const batch = batchOf(ordinal, size);
          fromOrdinals[batch] = (fromOrdinals[batch] ?? 0) + 1;
        }
        expect(fromOrdinals).toEqual(cutBatches(count, size));
      }),
      { numRuns: 100 },
    );
  });
});
