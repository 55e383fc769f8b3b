// A minimal pino-compatible logger for test processes: JSON lines on stderr at or above a level,
// so a failing multi-process test can show what its workers said.

import type { Logger } from '@smsbatch/core';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

const serialise = (value: unknown): unknown =>
  value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;

export function createStderrLogger(
  minLevel: Level,
  bindings: Record<string, unknown> = {},
): Logger {
  const threshold = LEVELS.indexOf(minLevel);
  const at =
    (level: Level) =>
    (object: Record<string, unknown>, message?: string): void => {
      if (LEVELS.indexOf(level) < threshold) return;
      const fields = Object.fromEntries(
        Object.entries({ ...bindings, ...object }).map(([key, value]) => [key, serialise(value)]),
      );
      process.stderr.write(
        `${JSON.stringify({ level, time: Date.now(), msg: message, ...fields })}\n`,
      );
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => createStderrLogger(minLevel, { ...bindings, ...more }),
  };
}
