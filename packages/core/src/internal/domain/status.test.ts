import { describe, expect, it } from 'vitest';
import { isTransitionAllowed, MESSAGE_STATUSES } from './status.js';

describe('message transitions', () => {
  it('never lets a late sent overwrite delivered or failed', () => {
    expect(isTransitionAllowed('delivered', 'sent')).toBe(false);
    expect(isTransitionAllowed('failed', 'sent')).toBe(false);
    expect(isTransitionAllowed('delivered', 'failed')).toBe(false);
  });

  it('treats a duplicate event as a no-op', () => {
    for (const status of MESSAGE_STATUSES) expect(isTransitionAllowed(status, status)).toBe(false);
  });

  it('resolves unknown messages by delivery report', () => {
    expect(isTransitionAllowed('unknown', 'delivered')).toBe(true);
    expect(isTransitionAllowed('unknown', 'failed')).toBe(true);
    expect(isTransitionAllowed('unknown', 'queued')).toBe(false);
  });

  it('keeps terminal statuses terminal', () => {
    for (const terminal of ['delivered', 'skipped', 'cancelled'] as const) {
      for (const to of MESSAGE_STATUSES) expect(isTransitionAllowed(terminal, to)).toBe(false);
    }
  });

  it('only requeues from sending (transient failure) or failed (retry-failed)', () => {
    const into = MESSAGE_STATUSES.filter((from) => isTransitionAllowed(from, 'queued'));
    expect(into).toEqual(['sending', 'failed']);
  });
});
