// Starts worker-process.ts as child processes (node + tsx on the sources) and waits for each
// one's ready line; keeps the tail of their stderr so a failing test can print what they said.

import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
const READY_LINE = 'SMSBATCH_WORKER_READY';
const KEPT_LINES = 200;

export interface WorkerProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last lines the process wrote to stderr. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM (a graceful close) and wait for the exit. */
  stop(): Promise<number | null>;
}

export function startWorkerProcess(
  env: Record<string, string>,
  { timeoutMs = 60_000 } = {},
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=@smsbatch/source', '--import', 'tsx', FIXTURE],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > KEPT_LINES) lines.splice(0, lines.length - KEPT_LINES);
  };
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const handle: WorkerProcess = {
    pid: child.pid ?? -1,
    child,
    output: () => lines.join('\n'),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker process not ready after ${timeoutMs} ms:\n${handle.output()}`));
    }, timeoutMs);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (stdout.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve(handle);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code}) before ready:\n${handle.output()}`));
    });
  });
}

/** Starts `count` processes in parallel; if one fails, the others are stopped. */
export async function startWorkerProcesses(
  count: number,
  env: Record<string, string>,
): Promise<WorkerProcess[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startWorkerProcess(env)),
  );
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(
      started.map((result) => (result.status === 'fulfilled' ? result.value.stop() : null)),
    );
    throw failed.reason;
  }
  return started.map((result) => (result as PromiseFulfilledResult<WorkerProcess>).value);
}
