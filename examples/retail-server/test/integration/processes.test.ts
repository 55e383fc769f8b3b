// `npm start` and `npm run worker` as real child processes: they refuse to start, saying why,
// without what they need, and the server stops cleanly on SIGTERM.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Only what node needs: the test runner's REDIS_URL or DATABASE_URL must not leak in. */
function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = { LOG_LEVEL: 'info' };
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

function start(entry: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--conditions=@smsbatch/source', '--import', 'tsx', entry], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function run(
  entry: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(entry, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout, stderr };
}

describe('the worker process', () => {
  it('exits 1 naming both variables when REDIS_URL and DATABASE_URL are missing', async () => {
    const result = await run('src/worker.ts', {});
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('npm run worker needs REDIS_URL and DATABASE_URL');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('exits 1 naming the one that is missing', async () => {
    const result = await run('src/worker.ts', { REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('npm run worker needs DATABASE_URL:');
  });
});

describe('the server process', () => {
  it('refuses WORKER=off without Redis and PostgreSQL', async () => {
    const result = await run('src/server.ts', { WORKER: 'off', PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('WORKER=off needs REDIS_URL and DATABASE_URL');
  });

  it('refuses a misspelt setting, suggesting the right one', async () => {
    const result = await run('src/server.ts', { SMS_BATCH_SIZ: '100', PORT: '0' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('SMS_BATCH_SIZ');
    expect(result.stderr).toContain('did you mean SMS_BATCH_SIZE?');
  });

  it('serves, then stops cleanly on SIGTERM', async () => {
    const child = start('src/server.ts', { PORT: '0' });
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk) => {
        stdout += chunk;
        const match = /ready on (http:\/\/localhost:\d+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.on('exit', () => reject(new Error(`server exited early:\n${stderr}`)));
    });
    expect(stdout).toMatch(/Admin token \(ADMIN_TOKEN was unset.*\): \S{20,}/);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('shutting down');
    expect(stderr).toContain('stopped');
  });
});
