import {
  ConflictError,
  InsufficientCreditsError,
  NotFoundError,
  SubscriptionInactiveError,
  ValidationError,
} from '@smsbatch/core';
import { describe, expect, it } from 'vitest';
import { isSmsHttpError, SmsHttpError, toHttpError, toProblem } from './problems.js';

describe('toHttpError', () => {
  it('maps each core error to its status and slug', () => {
    const cases: [Error, number, string][] = [
      [new ValidationError([{ path: ['name'], message: 'required' }]), 400, 'validation'],
      [new NotFoundError('campaign', 'c1'), 404, 'not-found'],
      [new ConflictError('cannot enqueue a campaign that is sending'), 409, 'conflict'],
      [new InsufficientCreditsError(10, 3), 402, 'insufficient-credits'],
      [new SubscriptionInactiveError('expired'), 403, 'subscription-inactive'],
    ];
    for (const [error, status, code] of cases) {
      expect(toHttpError(error)).toMatchObject({ status, code, message: error.message });
    }
  });

  it('recognises core errors from another copy of the package by name', () => {
    const foreign = Object.assign(new Error('campaign c1 not found'), { name: 'NotFoundError' });
    expect(toHttpError(foreign)?.status).toBe(404);
  });

  it('keeps the issues and the amounts as problem members', () => {
    const validation = toHttpError(
      new ValidationError([{ path: ['recipients', 2], message: 'x' }]),
    );
    expect(validation?.extensions).toEqual({ issues: [{ path: ['recipients', 2], message: 'x' }] });
    const credits = toHttpError(new InsufficientCreditsError(10, 3));
    expect(credits?.extensions).toEqual({ required: 10, available: 3 });
  });

  it('leaves unknown errors to the 500 path', () => {
    expect(toHttpError(new Error('db down'))).toBeNull();
    expect(toHttpError('a string')).toBeNull();
    // A look-alike without a known slug is not trusted.
    const fake = Object.assign(new Error('x'), { name: 'SmsHttpError', code: 'teapot' });
    expect(isSmsHttpError(fake)).toBe(false);
  });
});

describe('toProblem', () => {
  it('builds an RFC 9457 document whose members cannot be overwritten by extensions', () => {
    const error = new SmsHttpError('conflict', 'already sending', {
      extensions: { status: 200, type: 'x', campaignId: 'c1' },
    });
    expect(
      toProblem(error, { originalUrl: '/campaigns/c1/enqueue?x=1' }, 'https://e.test/p/'),
    ).toEqual({
      type: 'https://e.test/p/conflict',
      title: 'Conflict',
      status: 409,
      detail: 'already sending',
      instance: '/campaigns/c1/enqueue',
      code: 'conflict',
      campaignId: 'c1',
    });
  });
});
