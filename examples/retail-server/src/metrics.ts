// Core's Metrics hooks on prom-client, served as Prometheus text at GET /metrics. Core and the
// queue name their metrics freely; this maps any name to a Prometheus one (an `smsbatch_` prefix,
// `_total` on counters) and declares the known ones up front, so a scrape shows them before the
// first campaign. Gauges that describe the store (what is waiting to be sent) are read at scrape.

import type { MetricLabels, Metrics } from '@smsbatch/core';
import type { RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Milliseconds: from a fast in-memory step to a slow provider call. */
const MS_BUCKETS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

interface Declared {
  help: string;
  labels: readonly string[];
}

// What core, the in-process queue and the express adapter emit, with help texts and labels.
const COUNTERS: Record<string, Declared> = {
  smsbatch_messages_total: {
    help: 'Message status changes, by new status and by what caused them',
    labels: ['status', 'via'],
  },
  smsbatch_planned_messages_total: { help: 'Messages cut into batches by the planner', labels: [] },
  smsbatch_campaigns_settled_total: { help: 'Campaigns settled, by status', labels: ['status'] },
  smsbatch_retries_total: {
    help: 'Messages put back in the queue after a transient failure',
    labels: [],
  },
  smsbatch_limiter_waits_total: {
    help: 'Batch jobs delayed because their traffic account was over its rate',
    labels: ['trafficAccountId'],
  },
  smsbatch_delivery_events_total: {
    help: 'Delivery events stored for the first time, by source',
    labels: ['source'],
  },
  smsbatch_webhook_requests_total: { help: 'DLR webhook requests by outcome', labels: ['outcome'] },
  smsbatch_webhook_events_total: {
    help: 'Items in DLR webhook bodies by outcome (event, no_news, unreadable)',
    labels: ['outcome'],
  },
  smsbatch_record_failures_total: {
    help: 'Send results that could not be stored (messages left unknown)',
    labels: [],
  },
  smsbatch_ledger_errors_total: { help: 'Credit ledger calls that failed', labels: [] },
  smsbatch_ledger_mismatch_total: {
    help: 'Settled campaigns whose captured credits differ from the accepted cost',
    labels: [],
  },
  smsbatch_queue_jobs_completed_total: { help: 'Jobs done, by kind', labels: ['kind'] },
  smsbatch_queue_jobs_delayed_total: {
    help: 'Jobs put off (rate limit, backoff), by kind',
    labels: ['kind'],
  },
  smsbatch_queue_jobs_retried_total: { help: 'Jobs retried after an error', labels: ['kind'] },
  smsbatch_queue_jobs_failed_total: {
    help: 'Jobs dropped after their last attempt',
    labels: ['kind'],
  },
};

const HISTOGRAMS: Record<string, Declared> = {
  smsbatch_http_request_duration_ms: {
    help: 'HTTP request duration in ms, by method, route pattern and status',
    labels: ['method', 'route', 'status'],
  },
  smsbatch_send_duration_ms: { help: 'Provider send calls in ms', labels: ['mode'] },
  smsbatch_batch_duration_ms: { help: 'Batch jobs from claim to record, in ms', labels: [] },
  smsbatch_queue_job_duration_ms: { help: 'Job run time in ms, by kind', labels: ['kind'] },
};

export interface LiveCampaignSource {
  /** Messages not sent yet across the campaigns still running, by status; read at scrape. */
  liveMessages(): Promise<{ campaigns: Record<string, number>; messages: Record<string, number> }>;
  /** Jobs per queue and state (BullMQ), or null with the in-process queue; read at scrape. */
  queueJobs(): Promise<Readonly<Record<string, object>> | null>;
}

export interface PromMetrics {
  metrics: Metrics;
  registry: Registry;
  /** Records `smsbatch_http_request_duration_ms` for routes outside the SMS router. */
  timing(route: string): RequestHandler;
  /** Where the scrape-time gauges read from; set once the stack exists. */
  setLiveSource(source: LiveCampaignSource | null): void;
}

export function prometheusName(name: string, kind: 'counter' | 'histogram' | 'gauge'): string {
  const prefixed = name.startsWith('smsbatch_') ? name : `smsbatch_${name}`;
  const clean = prefixed.replace(/[^a-zA-Z0-9_:]/g, '_');
  return kind === 'counter' && !clean.endsWith('_total') ? `${clean}_total` : clean;
}

export function createPromMetrics(options: { defaultMetrics?: boolean } = {}): PromMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });

  type Metric = Counter<string> | Histogram<string> | Gauge<string>;
  const byName = new Map<string, { metric: Metric; labels: readonly string[] }>();

  const declare = (kind: 'counter' | 'histogram' | 'gauge', name: string, spec: Declared) => {
    const config = { name, help: spec.help, labelNames: [...spec.labels], registers: [registry] };
    const metric =
      kind === 'counter'
        ? new Counter(config)
        : kind === 'histogram'
          ? new Histogram({ ...config, buckets: MS_BUCKETS })
          : new Gauge(config);
    const entry = { metric, labels: spec.labels };
    byName.set(name, entry);
    return entry;
  };
  for (const [name, spec] of Object.entries(COUNTERS)) declare('counter', name, spec);
  for (const [name, spec] of Object.entries(HISTOGRAMS)) declare('histogram', name, spec);

  const get = (kind: 'counter' | 'histogram' | 'gauge', rawName: string, labels?: MetricLabels) => {
    const name = prometheusName(rawName, kind);
    // A metric nobody declared takes the label names of its first use.
    const entry =
      byName.get(name) ??
      declare(kind, name, { help: `${rawName} (undeclared)`, labels: Object.keys(labels ?? {}) });
    // Prometheus wants the same label names on every sample: extra ones are dropped, missing
    // ones become empty, rather than throwing inside a send path.
    const values: Record<string, string> = {};
    for (const label of entry.labels) values[label] = labels?.[label] ?? '';
    return { metric: entry.metric, values };
  };

  const metrics: Metrics = {
    increment(name, value = 1, labels) {
      if (value <= 0) return;
      const { metric, values } = get('counter', name, labels);
      if (metric instanceof Counter) metric.inc(values, value);
    },
    observe(name, value, labels) {
      const { metric, values } = get('histogram', name, labels);
      if (metric instanceof Histogram) metric.observe(values, value);
    },
    gauge(name, value, labels) {
      const { metric, values } = get('gauge', name, labels);
      if (metric instanceof Gauge) metric.set(values, value);
    },
  };

  let source: LiveCampaignSource | null = null;
  // Both gauges come from one read of the store per scrape (a second is cached for a second).
  let cached: { at: number; value: ReturnType<LiveCampaignSource['liveMessages']> } | null = null;
  const readLive = () => {
    const now = Date.now();
    if (cached === null || now - cached.at > 1000) {
      const value = (
        source?.liveMessages() ?? Promise.resolve({ campaigns: {}, messages: {} })
      ).catch((error: unknown) => {
        cached = null;
        throw error;
      });
      cached = { at: now, value };
    }
    return cached.value;
  };
  new Gauge({
    name: 'smsbatch_queue_depth_messages',
    help: 'Messages of running campaigns not sent yet (queued includes recipients not planned yet)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const { messages } = await readLive();
      this.reset();
      for (const status of ['queued', 'sending', 'unknown']) {
        this.set({ status }, messages[status] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'smsbatch_queue_jobs',
    help: 'BullMQ jobs per queue and state (waiting, active, delayed, failed, completed)',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      const counts = (await source?.queueJobs()) ?? {};
      this.reset();
      for (const [queue, states] of Object.entries(counts)) {
        for (const [state, count] of Object.entries(states)) {
          if (typeof count === 'number') this.set({ queue, state }, count);
        }
      }
    },
  });
  new Gauge({
    name: 'smsbatch_live_campaigns',
    help: 'Campaigns scheduled, sending or paused',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const { campaigns } = await readLive();
      this.reset();
      for (const status of ['scheduled', 'sending', 'paused']) {
        this.set({ status }, campaigns[status] ?? 0);
      }
    },
  });

  return {
    metrics,
    registry,
    timing: (route) => (req, res, next) => {
      const started = performance.now();
      res.once('close', () => {
        metrics.observe('smsbatch_http_request_duration_ms', performance.now() - started, {
          method: req.method,
          route,
          status: String(res.statusCode),
        });
      });
      next();
    },
    setLiveSource(next) {
      source = next;
    },
  };
}
