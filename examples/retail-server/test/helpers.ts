// Shared by the example's tests: the server started in-process on a free port with embedded
// defaults (memory store, in-process queue, fake Mitto), and small fetch helpers.

import { type RetailServer, startRetailServer } from '../src/app.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** Settings of a quiet, fast server; nothing is read from the test runner's environment. */
export const TEST_ENV = {
  ADMIN_TOKEN,
  LOG_LEVEL: 'silent',
  FAKE_MITTO_LATENCY_MS: '0',
  FAKE_MITTO_DLR_DELAY_MS: '5',
  FAKE_MITTO_FAILURE_RATE: '0',
} as const;

export function startTestServer(
  env: Record<string, string> = {},
  options: Omit<Parameters<typeof startRetailServer>[0] & object, 'env'> = {},
): Promise<RetailServer> {
  return startRetailServer({ ...options, env: { ...TEST_ENV, ...env }, port: 0 });
}

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields by name
  body: any;
}

export async function request(
  url: string,
  method: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, body };
}

export async function createOwner(
  server: RetailServer,
  fields: Record<string, unknown> = {},
): Promise<{ ownerId: string; apiKey: string }> {
  const answer = await request(`${server.url}/admin/owners`, 'POST', {
    token: ADMIN_TOKEN,
    body: { name: 'Corner Shop', credits: 1000, ...fields },
  });
  if (answer.status !== 201) throw new Error(`owner not created: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

export async function waitFor<T>(
  read: () => Promise<T>,
  isDone: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (isDone(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function phones(count: number, from = 0): { phone: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    phone: `+30694${String(1_000_000 + from + i).slice(-7)}`,
  }));
}
