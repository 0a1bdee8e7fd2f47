/**
 * The sweep flow added in parts (large sweeps), on a real Redis: with consumers that finish every job at once, the
 * sweep job runs exactly once, after every trial, whichever part its trials arrived in; a failed part leaves nothing.
 */
import { FlowProducer, Queue, Worker } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../../test/helpers/redis.js';
import { connectionFromUrl, EVAL_QUEUE, SWEEP_QUEUE, TRAIN_QUEUE } from '../queue/queues.js';
import type { Trial } from '../sweep-specs/index.js';
import { addSweepFlow, SWEEP_GATE_QUEUE } from './submit-sweep.js';

const connection = connectionFromUrl(TEST_REDIS_URL);
const plans = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ trialKey: `k${i}`, name: `t${i}` }) as unknown as Trial);

describe('addSweepFlow', () => {
  const prefix = uniquePrefix('flow-parts');
  // No consumers run under this one (the first test's would take the trials).
  const idlePrefix = uniquePrefix('flow-parts-idle');
  const smallPrefix = uniquePrefix('flow-parts-small');
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await deleteKeysWithPrefix(prefix);
    await deleteKeysWithPrefix(idlePrefix);
    await deleteKeysWithPrefix(smallPrefix);
  });

  it('aggregates once, after every part, although the first parts finish before the last are queued', async () => {
    const ctx = { connection, prefix };
    const finished: string[] = [];
    const sweepRuns: { children: number }[] = [];
    const base = { connection, prefix, concurrency: 4 };
    const workers = [
      new Worker(TRAIN_QUEUE, async (job) => ({ key: job.data.plan.trialKey }), base),
      new Worker(
        EVAL_QUEUE,
        async (job) => {
          finished.push(job.data.plan.trialKey);
          return { key: job.data.plan.trialKey };
        },
        base,
      ),
      new Worker(
        SWEEP_QUEUE,
        async (job) => sweepRuns.push({ children: Object.keys(await job.getChildrenValues()).length }),
        base,
      ),
    ];
    const flows = new FlowProducer({ connection, prefix });
    closers.push(() => flows.close(), ...workers.map((w) => () => w.close()));

    // Parts of 3 trials, each added 150 ms late: the consumers finish a part's trials before the next part is in.
    const addBulk = flows.addBulk.bind(flows);
    flows.addBulk = async (parts) => {
      await new Promise((r) => setTimeout(r, 150));
      return addBulk(parts);
    };
    await addSweepFlow(flows, ctx, 'sw-parts', plans(20), 3);
    // Wait until nothing is left to run in any queue: from then on no second, wrong sweep run can appear.
    const queues = [TRAIN_QUEUE, EVAL_QUEUE, SWEEP_QUEUE, SWEEP_GATE_QUEUE].map(
      (name) => new Queue(name, { connection, prefix }),
    );
    closers.push(...queues.map((q) => () => q.close()));
    const pending = async () => {
      let n = 0;
      for (const q of queues) {
        const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused');
        n += Object.values(c).reduce((a, b) => a + b, 0);
      }
      return n;
    };
    const deadline = Date.now() + 15_000;
    while ((sweepRuns.length === 0 || (await pending()) > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(await pending()).toBe(0);

    expect(sweepRuns).toEqual([{ children: 20 }]);
    expect(new Set(finished).size).toBe(20);
    expect(await queues[3].getJob('sw-parts.gate')).toBeUndefined();
  });

  it('adds a small sweep in one transaction, without a gate', async () => {
    // Under a prefix of its own: the first test's consumers still run under `prefix` and would finish these trials.
    const flows = new FlowProducer({ connection, prefix: smallPrefix });
    closers.push(() => flows.close());
    await addSweepFlow(flows, { connection, prefix: smallPrefix }, 'sw-small', plans(3), 3);
    const sweeps = new Queue(SWEEP_QUEUE, { connection, prefix: smallPrefix });
    const gates = new Queue(SWEEP_GATE_QUEUE, { connection, prefix: smallPrefix });
    closers.push(
      () => sweeps.close(),
      () => gates.close(),
    );
    const job = await sweeps.getJob('sweep.sw-small');
    expect(await job!.getDependenciesCount()).toMatchObject({ unprocessed: 3 });
    expect(await gates.count()).toBe(0);
  });

  it('takes back every part already added when a later part fails', async () => {
    const flows = new FlowProducer({ connection, prefix: idlePrefix });
    closers.push(() => flows.close());
    const addBulk = flows.addBulk.bind(flows);
    let calls = 0;
    flows.addBulk = async (parts) => {
      if (++calls === 3) throw new Error('Redis went away');
      return addBulk(parts);
    };
    const err = await addSweepFlow(flows, { connection, prefix: idlePrefix }, 'sw-fails', plans(10), 2).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toBe('Redis went away');
    const queues = [SWEEP_QUEUE, EVAL_QUEUE, TRAIN_QUEUE, SWEEP_GATE_QUEUE].map(
      (q) => new Queue(q, { connection, prefix: idlePrefix }),
    );
    closers.push(...queues.map((q) => () => q.close()));
    expect(await queues[0].getJob('sweep.sw-fails')).toBeUndefined();
    for (const q of queues) {
      expect(await q.getJobs(['waiting', 'waiting-children', 'paused', 'prioritized', 'delayed', 'active'])).toEqual(
        [],
      );
    }
  });
});
