// In-memory versions of the ports an app provides: opt-outs, subscription state and owner
// defaults. The demo and tests seed them directly; a real app backs these ports with its own data.

import type {
  OwnerDirectory,
  OwnerSettings,
  SubscriptionDecision,
  SubscriptionGuard,
  SuppressionList,
} from '../ports/app.js';

export type MemorySuppressionList = SuppressionList & {
  add(ownerId: string, phones: Iterable<string>): void;
  remove(ownerId: string, phones: Iterable<string>): void;
};

/** `initial`: opted-out phones (E.164) by owner id. */
export function createMemorySuppressionList(
  initial: Readonly<Record<string, readonly string[]>> = {},
): MemorySuppressionList {
  const byOwner = new Map<string, Set<string>>();

  const list: MemorySuppressionList = {
    async filterSuppressed(ownerId, phones) {
      const suppressed = byOwner.get(ownerId);
      return new Set(suppressed ? phones.filter((phone) => suppressed.has(phone)) : []);
    },

    add(ownerId, phones) {
      let suppressed = byOwner.get(ownerId);
      if (!suppressed) {
        suppressed = new Set();
        byOwner.set(ownerId, suppressed);
      }
      for (const phone of phones) suppressed.add(phone);
    },

    remove(ownerId, phones) {
      const suppressed = byOwner.get(ownerId);
      if (!suppressed) return;
      for (const phone of phones) suppressed.delete(phone);
      if (suppressed.size === 0) byOwner.delete(ownerId);
    },
  };
  for (const [ownerId, phones] of Object.entries(initial)) list.add(ownerId, phones);
  return list;
}

export type MemorySubscriptionGuard = SubscriptionGuard & {
  setActive(ownerId: string, isActive: boolean, reason?: string): void;
};

/**
 * `initial`: subscription state by owner id. An owner the guard has never heard of may send: the
 * embedded default must not block a deployment that has no subscription concept; an app that has
 * one marks its inactive owners (or provides its own guard).
 */
export function createMemorySubscriptionGuard(
  initial: Readonly<Record<string, boolean>> = {},
): MemorySubscriptionGuard {
  // Only refusals are kept: an active owner and an unknown one get the same answer.
  const inactive = new Map<string, string>();

  const guard: MemorySubscriptionGuard = {
    async check(ownerId): Promise<SubscriptionDecision> {
      const reason = inactive.get(ownerId);
      return reason === undefined ? { isAllowed: true } : { isAllowed: false, reason };
    },

    setActive(ownerId, isActive, reason = 'subscription inactive') {
      if (isActive) inactive.delete(ownerId);
      else inactive.set(ownerId, reason);
    },
  };
  for (const [ownerId, isActive] of Object.entries(initial)) guard.setActive(ownerId, isActive);
  return guard;
}

export type MemoryOwnerDirectory = OwnerDirectory & {
  set(ownerId: string, settings: OwnerSettings): void;
};

/** `initial`: settings by owner id; an owner without any gets `null` (the config's defaults). */
export function createMemoryOwnerDirectory(
  initial: Readonly<Record<string, OwnerSettings>> = {},
): MemoryOwnerDirectory {
  const settingsByOwner = new Map<string, OwnerSettings>();

  const directory: MemoryOwnerDirectory = {
    async getSettings(ownerId) {
      const settings = settingsByOwner.get(ownerId);
      return settings ? { ...settings } : null;
    },

    set(ownerId, settings) {
      settingsByOwner.set(ownerId, { ...settings });
    },
  };
  for (const [ownerId, settings] of Object.entries(initial)) directory.set(ownerId, settings);
  return directory;
}
