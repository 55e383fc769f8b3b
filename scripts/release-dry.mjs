#!/usr/bin/env node
// `npm run release:dry`: what `changeset publish` would ship, checked without publishing. Builds
// every published package, packs it with npm, and runs publint and @arethetypeswrong/cli on the
// tarball itself, so a file missing from `files` or a broken `exports` map fails here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'smsbatch-release-'));
const run = (cmd, args, cwd = root) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

try {
  console.log(run('npx', ['changeset', 'status']));
  for (const dir of readdirSync(join(root, 'packages'))) {
    const path = join(root, 'packages', dir);
    const pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    run('npx', ['tsup', '--silent'], path);
    const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], path));
    const tarball = join(out, packed.filename);
    console.log(`${pkg.name}@${pkg.version}: ${packed.entryCount} files, ${packed.size} bytes`);
    execFileSync('npx', ['publint', 'run', tarball, '--strict'], { cwd: root, stdio: 'inherit' });
    execFileSync('npx', ['attw', tarball, '--profile', 'node16', '--format', 'table-flipped'], {
      cwd: root,
      stdio: 'inherit',
    });
  }
  console.log('release:dry passed: every package packs, lints and resolves its types.');
} finally {
  rmSync(out, { recursive: true, force: true });
}
