// Where the CPU went during a measurement: every process's user+system time from /proc, taken
// before and after, grouped into ours (by pid), PostgreSQL, Redis and everything else (the other
// engineers' test runs on the same two cores). Linux only; elsewhere it reports nothing.

import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

interface ProcessTime {
  comm: string;
  ticks: number;
}

function snapshot(): Map<number, ProcessTime> {
  const times = new Map<number, ProcessTime>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return times;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat, 12 and 13 after "pid (comm) state".
      times.set(Number(entry), { comm, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // Gone between readdir and read.
    }
  }
  return times;
}

export interface CpuShares {
  wallSeconds: number;
  /** CPU seconds per group over the interval (2 cores: at most 2 × wallSeconds in all). */
  cpuSeconds: Record<string, number>;
}

/**
 * Starts counting; `stop()` returns CPU seconds per group. `groups` maps a name to the pids it
 * owns (a function, so processes started later count too).
 */
export function startCpuAccounting(groups: () => Record<string, readonly number[]>) {
  const before = snapshot();
  const started = performance.now();
  return {
    stop(): CpuShares {
      const after = snapshot();
      const owner = new Map<number, string>();
      for (const [name, pids] of Object.entries(groups())) {
        for (const pid of pids) owner.set(pid, name);
      }
      const cpuSeconds: Record<string, number> = {};
      for (const [pid, time] of after) {
        const delta = time.ticks - (before.get(pid)?.ticks ?? 0);
        if (delta <= 0) continue;
        const group =
          owner.get(pid) ??
          (time.comm.startsWith('postgres')
            ? 'postgresql'
            : time.comm.startsWith('redis')
              ? 'redis'
              : 'other processes');
        cpuSeconds[group] = (cpuSeconds[group] ?? 0) + delta / TICKS_PER_SECOND;
      }
      for (const key of Object.keys(cpuSeconds)) {
        cpuSeconds[key] = Math.round(cpuSeconds[key]! * 100) / 100;
      }
      return { wallSeconds: Math.round((performance.now() - started) / 10) / 100, cpuSeconds };
    },
  };
}
