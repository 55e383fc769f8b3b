// What every benchmark shares for its figures: medians and percentiles, the machine it ran on
// (load average included, since the two cores are shared), readable tables on stdout and the
// JSON written to bench/results/<name>.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile: with few samples p99 is the slowest one, never an interpolation. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export const round = (value: number, digits = 0): number => {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
};

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryMb: number;
  freeMemoryMb: number;
  node: string;
  platform: string;
  /** 1, 5 and 15-minute load averages. */
  loadAverage: number[];
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryMb: Math.round(totalmem() / 1e6),
    freeMemoryMb: Math.round(freemem() / 1e6),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: loadavg().map((value) => round(value, 2)),
  };
}

export interface Target {
  /** What the design asks, in words. */
  target: string;
  /** The measured figure the verdict rests on (a median). */
  measured: string;
  isMet: boolean;
  /** What limits the figure when it is not met, or a caveat on how it was measured. */
  note?: string;
}

export interface Result {
  benchmark: string;
  description: string;
  command: string;
  quick: boolean;
  startedAt: string;
  finishedAt: string;
  /** Load average and friends at start and at the end. */
  machine: { atStart: Machine; atEnd: Machine };
  setup: Record<string, unknown>;
  medians: Record<string, unknown>;
  targets: Target[];
  runs: unknown;
}

/** Collects a benchmark's figures and writes them, with the machine, when it ends. */
export function startResult(
  benchmark: string,
  description: string,
  quick: boolean,
  command = `npm run bench -- --only ${benchmark}${quick ? ' --quick' : ''}`,
) {
  const startedAt = new Date().toISOString();
  const atStart = machine();
  return {
    atStart,
    write(parts: Pick<Result, 'setup' | 'medians' | 'targets' | 'runs'>): Result {
      const result: Result = {
        benchmark,
        description,
        command,
        quick,
        startedAt,
        finishedAt: new Date().toISOString(),
        machine: { atStart, atEnd: machine() },
        ...parts,
      };
      mkdirSync(RESULTS_DIR, { recursive: true });
      const path = `${RESULTS_DIR}${benchmark}.json`;
      writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
      say(`written to ${path}`);
      return result;
    },
  };
}

export const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** A plain text table: the first row is the header, numbers are right-aligned. */
export function table(rows: readonly (readonly (string | number)[])[]): void {
  const text = rows.map((row) =>
    row.map((cell) => (typeof cell === 'number' ? cell.toLocaleString('en') : cell)),
  );
  const widths = text[0]!.map((_, col) => Math.max(...text.map((row) => row[col]?.length ?? 0)));
  text.forEach((row, index) => {
    say(
      row
        .map((cell, col) =>
          typeof rows[index]![col] === 'number' || (index === 0 && col > 0)
            ? cell.padStart(widths[col]!)
            : cell.padEnd(widths[col]!),
        )
        .join('  '),
    );
    if (index === 0) say(widths.map((width) => '-'.repeat(width)).join('  '));
  });
}

export function printTargets(targets: readonly Target[]): void {
  say();
  table([
    ['target', 'measured (median)', 'verdict'],
    ...targets.map((t) => [t.target, t.measured, t.isMet ? 'met' : 'NOT MET']),
  ]);
  for (const t of targets) if (t.note) say(`  - ${t.target}: ${t.note}`);
}

export const loadLine = (m: Machine): string =>
  `load average ${m.loadAverage.join(' ')} on ${m.cpus} cpus, node ${m.node}`;
