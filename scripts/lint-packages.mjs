#!/usr/bin/env node
// Package hygiene for every published package: build it, then publint (package.json and files)
// and @arethetypeswrong/cli (types resolve for ESM and CJS consumers) on what npm would pack.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const only = process.argv.slice(2);
const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return !pkg.private && (only.length === 0 || only.includes(pkg.name));
  });

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });
for (const dir of packages) {
  console.log(`\n— ${dir.slice(root.length + 1)}`);
  run('npx', ['tsup', '--silent'], dir);
  run('npx', ['publint', '--strict', '.'], dir);
  run('npx', ['attw', '--pack', '.', '--profile', 'node16', '--format', 'table-flipped'], dir);
}
