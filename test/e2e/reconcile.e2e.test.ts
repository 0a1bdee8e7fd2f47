/**
 * The store is the truth: when Redis loses a sweep's jobs while the control plane is down (here: the queues are
 * obliterated), the reconciler at the next start re-queues the lost trials and the sweep completes.
 */
import { Queue } from 'bullmq';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { EVAL_QUEUE, SWEEP_QUEUE, TRAIN_QUEUE, connectionFromUrl } from '../../control-plane/src/queue/queues.js';
import { loadSweepSpecFile } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { waitForSweepEnd, writeTinySpec } from '../helpers/sweep-helpers.js';

describe('start-up reconciler', () => {
  const home = mkdtempSync(join(tmpdir(), 'bslora-reconcile-'));
  const prefix = uniquePrefix('reconcile');
  let stack: LocalStack | undefined;

  afterAll(async () => {
    await stack?.stop();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('re-queues trials whose jobs vanished from Redis and completes the sweep', async () => {
    process.env.BSLORA_WORKER_FAULTS = 'slow:lora-r4';
    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
    delete process.env.BSLORA_WORKER_FAULTS;
    // A first sweep finishes lora-r2, so the second one reuses it and queues only lora-r4 (deterministically: no
    // race between the stop below and a trial that happens to finish).
    const first = await stack.controlPlane.submit(
      await loadSweepSpecFile(writeTinySpec(home, 'first', ['method: [lora]', 'lora_ranks: [2]'], { steps: 12 })),
    );
    await waitForSweepEnd(stack.controlPlane.store, first.sweepId, 90_000);
    const spec = await loadSweepSpecFile(
      writeTinySpec(home, 'lost-jobs', ['method: [lora]', 'lora_ranks: [2, 4]'], { steps: 12 }),
    );
    const { sweepId, trials, reused } = await stack.controlPlane.submit(spec);
    expect(reused).toHaveLength(1);
    // Lose everything Redis knew about the sweep while its slow trial is queued or training.
    await stack.stop();
    stack = undefined;
    const connection = connectionFromUrl(TEST_REDIS_URL);
    for (const name of [TRAIN_QUEUE, EVAL_QUEUE, SWEEP_QUEUE]) {
      const q = new Queue(name, { connection, prefix });
      await q.obliterate({ force: true });
      await q.close();
    }

    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
    const report = stack.controlPlane.reconciled;
    expect(report.requeued).toHaveLength(1);
    expect(report.requeued[0].sweepId).toBe(sweepId);
    const lost = trials.find((t) => t.name.startsWith('lora-r4'))!;
    expect(report.requeued[0].trialKeys).toEqual([lost.trialKey]); // the finished trial is kept, not rerun

    const sweep = await waitForSweepEnd(stack.controlPlane.store, sweepId, 120_000);
    expect(sweep.status).toBe('completed');
    const rows = stack.controlPlane.store.trialsOfSweep(sweepId);
    expect(rows.map((r) => r.trialKey).sort()).toEqual(trials.map((t) => t.trialKey).sort());
    for (const r of rows) expect(r.result!.counts.total).toBeGreaterThan(0);
  }, 300_000);
});
