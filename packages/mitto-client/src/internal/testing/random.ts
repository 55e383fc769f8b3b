// A small seeded generator (mulberry32) so a fake given a `seed` injects the same faults in the
// same order on every run. Not for anything that needs real randomness.

export type Random = () => number;

export function createRandom(seed?: number): Random {
  let state = (seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** True with probability `rate`; draws nothing when the rate is 0 so disabled faults cost nothing. */
export function chance(random: Random, rate: number | undefined): boolean {
  return rate !== undefined && rate > 0 && random() < rate;
}
