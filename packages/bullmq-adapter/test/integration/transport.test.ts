// The producer side: routing, deterministic ids (a pending id once, a finished id again, as the
// in-process queue does), pending checks across queues, id rules, and bounded retention.

import { type Job, type JobSpec, ValidationError } from '@smsbatch/core';
import { expect, it } from 'vitest';
import { deferred, useQueues } from '../support/harness.js';
import { describeRedis } from '../support/services.js';
import { waitFor } from '../support/wait.js';

const batch = (id: string): JobSpec => ({
  kind: 'batch',
  id,
  data: { campaignId: 'c1', batchNo: Number(id.replace(/\D/g, '')) || 0 },
});

describeRedis('createBullmqTransport', () => {
  const queues = useQueues();

  it('routes each job kind to its queue', async () => {
    const transport = queues.transport();
    await transport.enqueue([
      {
        kind: 'plan',
        id: 'plan-c1-v1-c0',
        data: { campaignId: 'c1', scheduleVersion: 1 },
        delayMs: 60_000,
      },
      batch('batch-c1-0-r0'),
      {
        kind: 'single',
        id: 'single-m1-r0',
        data: { campaignId: 'c1', batchNo: 0, messageId: 'm1' },
      },
      { kind: 'test', id: 'test-t1', data: { messageId: 't1' } },
      { kind: 'refresh', id: 'refresh-c1', data: { campaignId: 'c1' } },
      { kind: 'reconcile', id: 'reconcile-once', data: {} },
    ]);
    const counts = await transport.getQueueCounts();
    expect(counts.bulk).toMatchObject({ waiting: 1, delayed: 1 });
    expect(counts.single.waiting).toBe(1);
    expect(counts.test.waiting).toBe(1);
    expect(counts.maintenance.waiting).toBe(2);
  });

  it('says a job is pending while it waits, is delayed or runs, and not once it finished', async () => {
    const transport = queues.transport();
    const release = deferred();
    const started = deferred();
    await queues.workers(async () => {
      started.resolve();
      await release.promise;
      return { status: 'done' };
    });
    await transport.enqueue([
      { kind: 'test', id: 'test-later', data: { messageId: 'x' }, delayMs: 60_000 },
    ]);
    expect(await transport.isPending('test-later')).toBe(true);
    await transport.enqueue([batch('batch-c1-1-r0')]);
    await started.promise;
    expect(await transport.isPending('batch-c1-1-r0')).toBe(true);
    release.resolve();
    await waitFor(async () => !(await transport.isPending('batch-c1-1-r0')), 'the batch to finish');
    expect(await transport.isPending('never-added')).toBe(false);
  });

  it('adds a pending id once, and an id whose job finished again', async () => {
    const transport = queues.transport();
    const runs: Job[] = [];
    const release = deferred();
    await queues.workers(
      async (job) => {
        runs.push(job);
        if ((job.data as { messageId?: string }).messageId === 'fails') throw new Error('boom');
        await release.promise;
        return { status: 'done' };
      },
      { retry: { test: { attempts: 1 } } },
    );
    await transport.enqueue([batch('batch-c1-2-r0')]);
    await waitFor(() => runs.length === 1, 'the first run');
    await transport.enqueue([batch('batch-c1-2-r0'), batch('batch-c1-2-r0')]);
    release.resolve();
    await waitFor(async () => !(await transport.isPending('batch-c1-2-r0')), 'completion');
    expect(runs).toHaveLength(1);

    await transport.enqueue([batch('batch-c1-2-r0')]);
    await waitFor(() => runs.length === 2, 'the completed id to run again');

    await transport.enqueue([{ kind: 'test', id: 'test-fails', data: { messageId: 'fails' } }]);
    await waitFor(() => runs.length === 3, 'the failing job');
    await waitFor(async () => !(await transport.isPending('test-fails')), 'its failure');
    await transport.enqueue([{ kind: 'test', id: 'test-fails', data: { messageId: 'fails' } }]);
    await waitFor(() => runs.length === 4, 'the failed id to run again');
  });

  it('refuses ids BullMQ cannot take, and adds nothing of that call', async () => {
    const transport = queues.transport();
    for (const id of ['batch:1', '12345']) {
      await expect(transport.enqueue([batch('batch-ok-1'), batch(id)])).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
    expect((await transport.getQueueCounts()).bulk.waiting).toBe(0);
  });

  it('keeps only as many finished jobs as configured', async () => {
    const transport = queues.transport({ keepCompleted: { count: 2 } });
    let done = 0;
    await queues.workers(
      async () => {
        done += 1;
        return { status: 'done' };
      },
      { keepCompleted: { count: 2 } },
    );
    await transport.enqueue(Array.from({ length: 6 }, (_, i) => batch(`batch-c9-${i}-r0`)));
    await waitFor(() => done === 6, 'six jobs');
    await waitFor(async () => (await transport.getQueueCounts()).bulk.completed === 2, 'trimming');
  });
});
