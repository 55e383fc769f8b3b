// Clock, Logger (pino-compatible) and Metrics hooks.

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

type LogFn = (object: Record<string, unknown>, message?: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

export type MetricLabels = Readonly<Record<string, string>>;

export interface Metrics {
  increment(name: string, value?: number, labels?: MetricLabels): void;
  observe(name: string, value: number, labels?: MetricLabels): void;
  gauge(name: string, value: number, labels?: MetricLabels): void;
}

export const systemClock: Clock = { now: () => Date.now() };

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

export const noopMetrics: Metrics = {
  increment: () => {},
  observe: () => {},
  gauge: () => {},
};
