// What the server and the worker processes share: the example's own settings (next to core's
// config), the plain-spoken refusal to start without the services a split deployment needs,
// and graceful shutdown on SIGTERM/SIGINT.

import { isSmsBatchError, type Logger, type SmsConfig } from '@smsbatch/core';
import { z } from 'zod';
import { LOG_LEVELS } from './logger.js';

/** A reason not to start, worded for the person who ran the command. Exit code 1. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

const onOff = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(
    z.enum(['on', 'off', 'true', 'false', 'yes', 'no', '1', '0'], {
      error: 'must be on, off, true, false, yes, no, 1 or 0',
    }),
  )
  .transform((value) => ['on', 'true', 'yes', '1'].includes(value));
const rate = z.coerce.number().min(0).max(1);
const ms = z.coerce.number().int().min(0).max(600_000);
const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, {
  error: 'lower-case letters, digits and _ (a SQL identifier)',
});

// Settings of the example app only; they carry none of core's prefixes, so loadConfig ignores them.
const appEnvSchema = z.object({
  /** `off`: this process takes HTTP requests only; `npm run worker` processes run the jobs. */
  WORKER: onOff.default(true),
  /** Guards /admin. Unset: a random one, printed at startup. */
  ADMIN_TOKEN: z.string().trim().min(16, { error: 'at least 16 characters' }).optional(),
  /** `npm run worker` only: serve /metrics and /healthz on this port. Unset: none. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  /** Interface to listen on. Unset: all of them. */
  HOST: z.string().trim().min(1).optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** PostgreSQL schema of the SDK's tables (DATABASE_URL only). */
  PG_SCHEMA: identifier.default('smsbatch'),
  /** PostgreSQL schema of the example's own tables: owners, opt-outs (DATABASE_URL only). */
  APP_PG_SCHEMA: identifier.default('retail'),
  /** Key prefix of the BullMQ queues and the Redis limiter (REDIS_URL only). */
  BULLMQ_PREFIX: identifier.default('smsbatch'),
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  /** Fake Mitto only (MITTO_API_BASE unset): how it behaves, to make the status page lively. */
  FAKE_MITTO_LATENCY_MS: ms.default(20),
  FAKE_MITTO_DLR_DELAY_MS: ms.default(300),
  FAKE_MITTO_FAILURE_RATE: rate.default(0.02),
});

export type AppEnv = z.output<typeof appEnvSchema>;

export function loadAppEnv(env: Readonly<Record<string, string | undefined>>): AppEnv {
  const present = Object.fromEntries(
    Object.keys(appEnvSchema.shape).flatMap((name) => {
      const value = env[name]?.trim();
      return value ? [[name, value]] : [];
    }),
  );
  const result = appEnvSchema.safeParse(present);
  if (result.success) return result.data;
  throw new StartupError(
    `invalid settings:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
  );
}

/**
 * A worker in its own process shares jobs and data with the server only through Redis and
 * PostgreSQL; without them it would work on its own private queue and memory.
 */
export function requireSharedInfrastructure(config: SmsConfig, what: string): void {
  const missing = (['REDIS_URL', 'DATABASE_URL'] as const).filter((name) => !config[name]);
  if (missing.length === 0) return;
  throw new StartupError(
    `${what} needs ${missing.join(' and ')}: a separate worker shares jobs with the server ` +
      'through Redis (BullMQ) and data through PostgreSQL.\n' +
      `Set ${missing.join(' and ')} (e.g. REDIS_URL=redis://127.0.0.1:6379 ` +
      'DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres), or run `npm start` without ' +
      'WORKER=off to send from the server process.',
  );
}

/** Prints why the process cannot start (no stack trace for the expected reasons) and exits 1. */
export function exitOnStartupFailure(error: unknown): never {
  if (error instanceof StartupError) {
    process.stderr.write(`\n${error.message}\n\n`);
  } else if (isSmsBatchError(error) && error.code === 'config') {
    process.stderr.write(`\n${error.message}\n\n`);
  } else {
    process.stderr.write(`\nfailed to start: ${(error as Error)?.stack ?? String(error)}\n\n`);
  }
  process.exit(1);
}

/**
 * Runs `close` on the first SIGTERM or SIGINT, then exits; a second signal, or `close` taking
 * longer than `timeoutMs`, exits at once.
 */
export function closeOnSignals(
  close: () => Promise<void>,
  options: { logger: Logger; timeoutMs?: number },
): void {
  let isClosing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (isClosing) {
      options.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    isClosing = true;
    options.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      options.logger.error({}, 'shutdown took too long: exiting');
      process.exit(1);
    }, options.timeoutMs ?? 20_000);
    timer.unref();
    close().then(
      () => {
        options.logger.info({}, 'stopped');
        process.exit(0);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
