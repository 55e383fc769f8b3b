#!/usr/bin/env node
// Runs a TypeScript entry point against the workspace sources (no build needed):
// tsx compiles on the fly and the `@smsbatch/source` export condition maps every
// `@smsbatch/*` import to its package's `src/`.
import { spawn } from 'node:child_process';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.mjs <entry.ts> [args...]');
  process.exit(2);
}
const child = spawn(
  process.execPath,
  ['--conditions=@smsbatch/source', '--import', 'tsx', entry, ...args],
  { stdio: 'inherit' },
);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
