// A small logger with core's (pino-compatible) Logger shape, writing one line per entry to
// stderr: JSON when LOG_FORMAT=json (for log shippers), readable text otherwise. A real app
// passes pino instead; nothing else in the example depends on this one.

import type { Logger } from '@smsbatch/core';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ConsoleLoggerOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  write?: (line: string) => void;
}

export function createConsoleLogger(
  options: ConsoleLoggerOptions = {},
  bindings: Record<string, unknown> = {},
): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'info');
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const format = options.format ?? 'text';

  const log =
    (level: Exclude<LogLevel, 'silent'>) =>
    (object: Record<string, unknown>, message?: string): void => {
      if (LOG_LEVELS.indexOf(level) < threshold) return;
      const fields = { ...bindings, ...object };
      if (format === 'json') {
        write(
          JSON.stringify(
            { time: new Date().toISOString(), level, msg: message, ...fields },
            errors,
          ),
        );
        return;
      }
      const err = fields.err;
      delete fields.err;
      const rest = Object.entries(fields)
        .map(
          ([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`,
        )
        .join(' ');
      const stack = err instanceof Error ? `\n${err.stack ?? err.message}` : '';
      write(
        `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message ?? ''} ${rest}${stack}`,
      );
    };

  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => createConsoleLogger(options, { ...bindings, ...more }),
  };
}

function errors(_key: string, value: unknown): unknown {
  return value instanceof Error
    ? { name: value.name, message: value.message, stack: value.stack }
    : value;
}
