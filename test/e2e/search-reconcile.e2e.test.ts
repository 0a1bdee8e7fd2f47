/**
 * A searched sweep after a crash that lost its Redis jobs: the start-up reconciler queues the rung the store says the
 * search is at, again, with the same job ids, and only the trainings whose rung result is missing. Real Redis and
 * BullMQ, no worker (nothing needs to train to see what is queued).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { rungJobId, rungTrainJobId } from '../../control-plane/src/queue/job-ids.js';
import { TRAIN_QUEUE } from '../../control-plane/src/queue/queues.js';
import { SEARCH_RUNG_QUEUE } from '../../control-plane/src/search/search-rungs.js';
import { loadSweepSpecFile } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

const SPEC = `
name: search-reconcile
base_model: builtin:tiny-llama
train_data: builtin:arith
eval_tasks: [builtin:arith]
target_modules: [q_proj, v_proj]
training: {steps: 8, learning_rate: 0.003, batch_size: 4, seq_len: 64, seed: 0, validation_holdout: 32}
grid: {method: [lora], lora_ranks: [1, 2, 4, 8]}
search: {strategy: successive_halving, eta: 2, min_steps: 2, budgets: {buckets: 1}}
`;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('a searched sweep whose Redis jobs were lost', () => {
  it('has its current rung queued again at start-up, less the rung results already recorded', async () => {
    const home = mkdtempSync(join(tmpdir(), 'bslora-search-reconcile-'));
    const prefix = uniquePrefix('search-reconcile');
    cleanup.push(async () => {
      await deleteKeysWithPrefix(prefix);
      rmSync(home, { recursive: true, force: true });
    });
    let cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    writeFileSync(join(home, 'spec.yaml'), SPEC);
    const { sweepId, trials } = await cp.submit(await loadSweepSpecFile(join(home, 'spec.yaml')));
    const connection = cp.ctx.connection;
    const rungs = new Queue(SEARCH_RUNG_QUEUE, { connection, prefix });
    const trains = new Queue(TRAIN_QUEUE, { connection, prefix });
    cleanup.push(async () => {
      await rungs.close();
      await trains.close();
    });
    expect(await rungs.getJob(rungJobId(sweepId, 0))).toBeTruthy();
    // One training of rung 0 finished before the crash; then Redis lost every job.
    cp.store.recordRungResult({
      trialKey: trials[0]!.trialKey,
      steps: 2,
      validationLoss: 1.5,
      validationExamples: 32,
      stepsTrained: 2,
      trainSeconds: 1,
      adapterSha256: null,
    });
    await cp.close();
    await deleteKeysWithPrefix(prefix);

    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    cleanup.push(() => cp.close());
    expect(cp.reconciled.requeued).toEqual([{ sweepId, trialKeys: [] }]);
    const parent = await rungs.getJob(rungJobId(sweepId, 0));
    expect(parent).toBeTruthy();
    expect(await parent!.getState()).toBe('waiting-children');
    const queued = await Promise.all(trials.map((t) => trains.getJob(rungTrainJobId(sweepId, 0, t.trialKey))));
    expect(queued.map((j) => Boolean(j))).toEqual([false, true, true, true]);
    expect(queued[1]!.data.plan.training.stopAfterSteps).toBe(2);
  }, 120_000);
});
