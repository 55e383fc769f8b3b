// `npm run bench`: runs every benchmark, each in a process of its own (so one's heap, JIT state
// and leftovers do not colour the next), then prints every target beside its measured median.
// `--only throughput,scale` picks some; `--quick` is the CI smoke run (under 3 minutes in all).

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadLine, machine, RESULTS_DIR, type Result, say, table } from './lib/report.js';

const BENCHMARKS = ['throughput', 'enqueue', 'scale', 'rate-limits', 'fairness'] as const;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  say('usage: npm run bench -- [--quick] [--only throughput,enqueue,scale,rate-limits,fairness]');
  say('Each benchmark also runs alone: node scripts/run-ts.mjs bench/<name>.ts [--quick] [...]');
  process.exit(0);
}
const chosen = args.only ? args.only.split(',').map((name) => name.trim()) : [...BENCHMARKS];
const unknown = chosen.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
if (unknown.length > 0) {
  say(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${BENCHMARKS.join(', ')}`);
  process.exit(2);
}

function runOne(name: string): Promise<number> {
  const entry = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const child = spawn(
    process.execPath,
    ['--conditions=@smsbatch/source', '--import', 'tsx', entry, ...(args.quick ? ['--quick'] : [])],
    { stdio: 'inherit' },
  );
  // Ctrl-C reaches the child through the terminal's process group; it cleans up and exits.
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
}

const started = Date.now();
say(
  `smsbatch benchmarks${args.quick ? ' (quick)' : ''}: ${chosen.join(', ')}; ${loadLine(machine())}`,
);
const failed: string[] = [];
for (const name of chosen) {
  say(`\n=== ${name} ===`);
  const benchStarted = Date.now();
  const code = await runOne(name);
  say(
    `=== ${name}: ${code === 0 ? 'done' : `FAILED (exit ${code})`} in ${((Date.now() - benchStarted) / 1000).toFixed(0)} s`,
  );
  if (code !== 0) failed.push(name);
}

say('\n=== summary ===');
const rows: (string | number)[][] = [['benchmark', 'target', 'measured (median)', 'verdict']];
for (const name of chosen) {
  const path = `${RESULTS_DIR}${name}.json`;
  if (failed.includes(name) || !existsSync(path)) {
    rows.push([name, '(no result)', '', 'FAILED']);
    continue;
  }
  const result = JSON.parse(readFileSync(path, 'utf8')) as Result;
  for (const target of result.targets) {
    rows.push([name, target.target, target.measured, target.isMet ? 'met' : 'NOT MET']);
  }
}
table(rows);
say(`\nall in ${((Date.now() - started) / 1000).toFixed(0)} s; ${loadLine(machine())}`);
say(`results: ${RESULTS_DIR}<name>.json`);
process.exitCode = failed.length > 0 ? 1 : 0;
