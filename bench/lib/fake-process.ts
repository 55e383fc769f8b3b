// The fake Mitto in a process of its own, so that on two cores the pipeline under test and the
// provider do not share an event loop. Started with its options over IPC; answers queries about
// what it accepted (counts, duplicates, acceptance times per traffic account, references).

import { type FakeMittoOptions, startFakeMitto } from '@smsbatch/mitto-client/testing';
import { acceptedReferences, acceptedTimes } from './accepted.js';

interface Request {
  type: 'request';
  id: number;
  op: string;
  args?: unknown;
}

const options = JSON.parse(process.env.BENCH_FAKE_OPTIONS ?? '{}') as FakeMittoOptions;
const fake = await startFakeMitto(options);

const handlers: Record<string, (args: never) => unknown> = {
  stats: () => fake.stats(),
  duplicates: () => fake.duplicates(),
  setFaults: (args: { faults: FakeMittoOptions['faults']; replace?: boolean }) =>
    fake.setFaults(args.faults ?? {}, { replace: args.replace ?? false }),
  flush: (args: { timeoutMs?: number }) => fake.flushDeliveryReports(args),
  acceptedTimes: (args: { from?: number }) => acceptedTimes(fake.accepted, args.from),
  references: () => acceptedReferences(fake.accepted),
  memory: () => process.memoryUsage().rss,
};

process.on('message', async (message: Request) => {
  if (message?.type !== 'request') return;
  try {
    const handler = handlers[message.op];
    if (!handler) throw new Error(`unknown op ${message.op}`);
    const value = await handler(message.args as never);
    process.send!({ type: 'response', id: message.id, value });
  } catch (error) {
    process.send!({ type: 'response', id: message.id, error: (error as Error).message });
  }
});
process.on('disconnect', () => {
  void fake.close().finally(() => process.exit(0));
});
process.send!({ type: 'ready', url: fake.url, apiKey: fake.apiKey });
