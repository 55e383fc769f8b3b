// Graceful shutdown on SIGTERM/SIGINT for a worker process: close everything in order, then exit.
// A second signal exits at once, for an operator who does not want to wait.

import { type Logger, silentLogger } from '@smsbatch/core';

export interface SignalHandlerOptions {
  /** Default `['SIGTERM', 'SIGINT']`. */
  signals?: readonly NodeJS.Signals[];
  logger?: Logger;
  /** Exit the process once closed (code 0, or 1 if a close failed). Default true. */
  exit?: boolean;
  /**
   * With `exit`, exit with code 1 if closing takes longer than this: past the workers' own
   * timeout, a connection pool or an HTTP call may still be draining. Default 60,000 ms.
   */
  exitTimeoutMs?: number;
}

/**
 * Closes `closables` in order (workers first, then what they use) on the first signal. Returns a
 * function that removes the handlers.
 */
export function installSignalHandlers(
  closables: readonly { close(): Promise<unknown> }[],
  options: SignalHandlerOptions = {},
): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const logger = options.logger ?? silentLogger;
  const shouldExit = options.exit ?? true;
  const exitTimeoutMs = options.exitTimeoutMs ?? 60_000;
  let isClosing = false;

  const onSignal = (signal: NodeJS.Signals) => {
    if (isClosing) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    isClosing = true;
    logger.info({ signal }, 'shutting down');
    if (shouldExit) {
      setTimeout(() => {
        logger.error({ exitTimeoutMs }, 'shutdown took too long: exiting');
        process.exit(1);
      }, exitTimeoutMs).unref();
    }
    void (async () => {
      let code = 0;
      for (const closable of closables) {
        try {
          await closable.close();
        } catch (error) {
          code = 1;
          logger.error({ err: error }, 'close failed during shutdown');
        }
      }
      logger.info({ code }, 'shut down');
      if (shouldExit) process.exit(code);
    })();
  };

  for (const signal of signals) process.on(signal, onSignal);
  return () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
}
