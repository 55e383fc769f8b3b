// A CPU profile of this process around one measurement (node:inspector), summed by self time per
// function and per area of the code (our packages, each dependency, Node internals, GC), so a
// missed target comes with where the time went.

import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by area: packages/<name>, a dependency, node internals, (garbage collector), ... */
  byArea: { area: string; ms: number; share: number }[];
  /** The functions with the most self time. */
  topFunctions: { fn: string; where: string; ms: number; share: number }[];
}

function areaOf(url: string, functionName: string): string {
  if (functionName === '(garbage collector)') return '(garbage collector)';
  if (functionName === '(idle)' || functionName === '(program)') return functionName;
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/(packages|examples)\/([^/]+)\//.exec(url);
  if (ours && !url.includes('node_modules')) return `${ours[1]}/${ours[2]}`;
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dependency) return dependency[1]!;
  if (url.includes('/bench/')) return 'bench harness';
  return url;
}

function summarise(profile: Profile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // A sample's time is the gap to the next sample.
    const ms = (deltas[i + 1] ?? 0) / 1000;
    selfMs.set(samples[i]!, (selfMs.get(samples[i]!) ?? 0) + ms);
  }
  const totalMs = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const functions = new Map<string, { where: string; ms: number }>();
  for (const [id, ms] of selfMs) {
    const { callFrame } = byId.get(id)!;
    const area = areaOf(callFrame.url, callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    // No line numbers: tsx compiles our TypeScript without source maps for the profiler.
    const where = callFrame.url.replace(/^.*\/(packages|node_modules|examples|bench)\//, '$1/');
    const key = `${callFrame.functionName || '(anonymous)'} ${where}`;
    const entry = functions.get(key) ?? { where, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  const share = (ms: number) => Math.round((ms / totalMs) * 1000) / 10;
  return {
    totalMs: Math.round(totalMs),
    byArea: [...areas]
      .sort((a, b) => b[1] - a[1])
      .map(([area, ms]) => ({ area, ms: Math.round(ms), share: share(ms) })),
    topFunctions: [...functions]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top)
      .map(([key, { where, ms }]) => ({
        fn: key.slice(0, key.length - where.length - 1),
        where,
        ms: Math.round(ms),
        share: share(ms),
      })),
  };
}

/** Starts the profiler; `stop()` returns the summary. */
export async function startProfile() {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(): Promise<ProfileSummary> {
      const { profile } = await session.post('Profiler.stop');
      await session.post('Profiler.disable');
      session.disconnect();
      return summarise(profile as Profile);
    },
  };
}
