import { describe, expect, it } from 'vitest';
import {
  createMemoryOwnerDirectory,
  createMemorySubscriptionGuard,
  createMemorySuppressionList,
} from './app-ports.js';

describe('memory suppression list', () => {
  it('returns the opted-out subset, per owner', async () => {
    const list = createMemorySuppressionList({ o1: ['+306900000001'] });
    list.add('o1', ['+306900000002']);
    list.add('o2', ['+306900000003']);
    const phones = ['+306900000001', '+306900000002', '+306900000003', '+306900000004'];
    expect([...(await list.filterSuppressed('o1', phones))]).toEqual([
      '+306900000001',
      '+306900000002',
    ]);
    expect([...(await list.filterSuppressed('o2', phones))]).toEqual(['+306900000003']);
    expect((await list.filterSuppressed('o3', phones)).size).toBe(0);
  });

  it('forgets a phone once removed', async () => {
    const list = createMemorySuppressionList({ o1: ['+306900000001', '+306900000002'] });
    list.remove('o1', ['+306900000001']);
    list.remove('nobody', ['+306900000001']);
    const suppressed = await list.filterSuppressed('o1', ['+306900000001', '+306900000002']);
    expect([...suppressed]).toEqual(['+306900000002']);
  });
});

describe('memory subscription guard', () => {
  it('allows owners it has never heard of', async () => {
    expect(await createMemorySubscriptionGuard().check('new-owner')).toEqual({ isAllowed: true });
  });

  it('refuses inactive owners with the reason, until reactivated', async () => {
    const guard = createMemorySubscriptionGuard({ o1: false, o2: true });
    expect(await guard.check('o1')).toEqual({ isAllowed: false, reason: 'subscription inactive' });
    expect(await guard.check('o2')).toEqual({ isAllowed: true });
    guard.setActive('o2', false, 'payment failed');
    expect(await guard.check('o2')).toEqual({ isAllowed: false, reason: 'payment failed' });
    guard.setActive('o1', true);
    expect(await guard.check('o1')).toEqual({ isAllowed: true });
  });
});

describe('memory owner directory', () => {
  it('returns what was set and null for an unknown owner', async () => {
    const directory = createMemoryOwnerDirectory({ o1: { sender: 'SHOP' } });
    directory.set('o2', { trafficAccountId: 'ta-2', sender: null });
    expect(await directory.getSettings('o1')).toEqual({ sender: 'SHOP' });
    expect(await directory.getSettings('o2')).toEqual({ trafficAccountId: 'ta-2', sender: null });
    expect(await directory.getSettings('o3')).toBeNull();
  });

  it('hands out copies, so a caller cannot change the stored settings', async () => {
    const directory = createMemoryOwnerDirectory();
    const settings = { sender: 'SHOP' };
    directory.set('o1', settings);
    settings.sender = 'CHANGED';
    const read = await directory.getSettings('o1');
    if (read) read.sender = 'ALSO CHANGED';
    expect(await directory.getSettings('o1')).toEqual({ sender: 'SHOP' });
  });
});
