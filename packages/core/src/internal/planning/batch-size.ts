// How many messages go into one bulk call, and how a campaign's messages are cut into batches.
// Batch numbers are derived from a message's ordinal alone, so a planner resumed mid-campaign
// cuts exactly the batches an uninterrupted one would have.

import { ValidationError } from '../errors.js';

/** Smallest and largest dynamic size: below 100 the per-call overhead dominates. */
export const MIN_DYNAMIC_BATCH_SIZE = 100;
export const MAX_DYNAMIC_BATCH_SIZE = 500;
/** Hard cap for any batch, `SMS_BATCH_SIZE` included (see mitto-api.md). */
export const MAX_BATCH_SIZE = 1000;
/** A dynamic size aims at this many batches, so a small campaign still spreads over workers. */
const TARGET_BATCHES = 20;

/**
 * The batch size for a campaign of `total` sendable messages: about total/20, within 100–500.
 * An `override` (`SMS_BATCH_SIZE`) wins, capped at 1,000.
 */
export function chooseBatchSize(total: number, override?: number | null): number {
  if (override !== undefined && override !== null) {
    if (!Number.isInteger(override) || override <= 0) {
      throw new ValidationError([
        { path: ['SMS_BATCH_SIZE'], message: 'must be a positive integer' },
      ]);
    }
    return Math.min(override, MAX_BATCH_SIZE);
  }
  assertCount(total, 'total');
  const size = Math.round(total / TARGET_BATCHES);
  return Math.min(MAX_DYNAMIC_BATCH_SIZE, Math.max(MIN_DYNAMIC_BATCH_SIZE, size));
}

/** Sizes of consecutive batches holding `count` messages: all `size` but possibly the last. */
export function cutBatches(count: number, size: number): number[] {
  assertCount(count, 'count');
  assertSize(size);
  const sizes: number[] = new Array(Math.floor(count / size)).fill(size);
  if (count % size > 0) sizes.push(count % size);
  return sizes;
}

/** The batch holding the message with this 0-based ordinal among a campaign's sendable ones. */
export function batchOf(ordinal: number, size: number): number {
  assertCount(ordinal, 'ordinal');
  assertSize(size);
  return Math.floor(ordinal / size);
}

function assertCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError([{ path: [name], message: 'must be a non-negative integer' }]);
  }
}

function assertSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH_SIZE) {
    throw new ValidationError([
      { path: ['size'], message: `must be an integer from 1 to ${MAX_BATCH_SIZE}` },
    ]);
  }
}
