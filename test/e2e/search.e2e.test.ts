/**
 * Successive halving end to end on real processes: Redis, BullMQ flows (one per rung), the agent's spawned PyTorch
 * worker on the tiny Llama over gRPC. The worker is killed with SIGKILL in the middle of the second rung; the agent
 * starts another, the rung's training is retried and continues from its checkpoint, and the search completes:
 * every rung result recorded once, no configuration trained past where the search stopped it, and the finalists
 * continuing from the previous rung's checkpoint rather than retraining. A second submit of the same spec reuses
 * everything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { searchViewOf } from '../../control-plane/src/search/search-view.js';
import { loadSweepSpecFile } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { isAlive, waitFor, waitForSweepEnd } from '../helpers/sweep-helpers.js';

const SPEC = `
name: search-e2e
base_model: builtin:tiny-llama
train_data: builtin:arith
eval_tasks: [builtin:arith]
target_modules: [q_proj, v_proj]
training: {steps: 12, learning_rate: 0.003, batch_size: 4, seq_len: 64, seed: 0, eval_limit: 20,
           validation_holdout: 32, checkpoint_every: 1}
grid:
  method: [lora, bslora]
  lora_ranks: [1, 2, 4, 8]
  ranks: [{local: 1, intra: 1, inter: 1}, {local: 2, intra: 2, inter: 2}]
search: {strategy: successive_halving, eta: 2, min_steps: 3, budgets: {buckets: 2}}
`;

/** A sweep's events of one kind, from the store's log. */
function eventsOf(stack: LocalStack, sweepId: string, kind: string): { trialKey: string | null; payload: any }[] {
  const rows = stack.controlPlane.store.db
    .prepare('SELECT trial_key, payload_json FROM events WHERE sweep_id = ? AND kind = ? ORDER BY id')
    .all(sweepId, kind) as { trial_key: string | null; payload_json: string }[];
  return rows.map((r) => ({ trialKey: r.trial_key, payload: JSON.parse(r.payload_json) }));
}

let stack: LocalStack | undefined;
let home: string | undefined;
let prefix: string | undefined;

afterAll(async () => {
  await stack?.stop();
  if (prefix) await deleteKeysWithPrefix(prefix);
  if (home) rmSync(home, { recursive: true, force: true });
}, 120_000);

describe('successive halving on real processes', () => {
  it('survives a kill -9 of the worker mid-rung and records each rung result once', async () => {
    // Every step takes 0.5 s (fault injection), so the test can act in the middle of a rung.
    process.env.BSLORA_WORKER_FAULTS = 'slow:-s0';
    home = mkdtempSync(join(tmpdir(), 'bslora-search-'));
    prefix = uniquePrefix('search');
    stack = await startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, port: 0 });
    delete process.env.BSLORA_WORKER_FAULTS;
    const cp = stack.controlPlane;
    const path = join(home, 'search.yaml');
    writeFileSync(path, SPEC);
    const { sweepId, trials } = await cp.submit(await loadSweepSpecFile(path));
    expect(trials).toHaveLength(6);

    // Kill the worker once a trial of the second rung (steps 3 → 6) has passed step 4.
    const inRungTwo = () =>
      trials.find((t) => {
        const p = cp.progress.get(t.trialKey) as { phase?: string; step?: number; totalSteps?: number } | undefined;
        return p?.phase === 'train' && p.totalSteps === 6 && (p.step ?? 0) >= 4 && (p.step ?? 0) < 6;
      });
    const victimTrial = await waitFor(inRungTwo, 300_000, 'a second-rung training past step 4');
    const victim = stack.agent.workers[0].pid!;
    process.kill(victim, 'SIGKILL');

    const sweep = await waitForSweepEnd(cp.store, sweepId, 420_000);
    expect(sweep.status).toBe('completed');
    expect(isAlive(victim)).toBe(false);
    expect(stack.agent.workers[0].pid).not.toBe(victim);

    const view = searchViewOf(cp.store, sweepId, cp.store.trialsOfSweep(sweepId), true)!;
    expect(view.rungSteps).toEqual([3, 6, 12]);
    // Two buckets; each keeps floor(n / 2) (at least one) at each rung: two finalists, one per bucket.
    const finalists = view.trials.filter((t) => t.rung === 2 && !t.stopped);
    expect(finalists).toHaveLength(2);
    expect(new Set(finalists.map((t) => t.bucket))).toEqual(new Set([0, 1]));
    const stopped = view.trials.filter((t) => t.stopped);
    expect(stopped).toHaveLength(4);
    for (const t of stopped) expect(cp.store.trialOfSweep(sweepId, t.trialKey)!.status).toBe('stopped');

    // Each rung result recorded once: one row per trial and rung reached, one first recording of each.
    const results = cp.store.rungResults(trials.map((t) => t.trialKey));
    const events = eventsOf(stack, sweepId, 'rung-result-recorded').filter((e) => e.payload.inserted);
    for (const t of view.trials) {
      const rows = results.get(t.trialKey)!;
      expect(rows.map((r) => r.steps)).toEqual(view.rungSteps.slice(0, t.rung + 1));
      // No step ran twice: the steps each rung's training ran add up to the steps reached. (The killed training's
      // retry ran only the steps after its last checkpoint, checked below.)
      if (t.trialKey !== victimTrial.trialKey) expect(rows.reduce((a, r) => a + r.stepsTrained, 0)).toBe(t.steps);
      expect(rows.every((r) => r.validationLoss !== null && r.validationExamples === 32)).toBe(true);
      const firsts = events.filter((e) => e.trialKey === t.trialKey);
      expect(firsts).toHaveLength(Math.min(t.rung + 1, 2)); // the final rung is recorded with the trial's result
    }
    // The killed training was retried and continued from its checkpoint inside the rung (at step 4 or 5).
    const killed = results.get(victimTrial.trialKey)!.find((r) => r.steps === 6)!;
    expect(killed.stepsTrained).toBeGreaterThanOrEqual(1);
    expect(killed.stepsTrained).toBeLessThanOrEqual(2);
    // The finalists continued from the second rung's checkpoint: 6 of their 12 steps were trained before.
    for (const f of finalists) {
      const row = cp.store.trialOfSweep(sweepId, f.trialKey)!;
      expect(row.result!.train.steps).toBe(12);
      expect(row.result!.train.resumedFromStep).toBe(6);
    }
    expect(view.compute.steps).toBe(6 * 3 + view.rungs[1]!.configs * 3 + 2 * 6);
    expect(view.compute.gridSteps).toBe(6 * 12);

    // Resubmitted, the search reuses every rung result and every finalist: nothing trains.
    const again = await cp.submit(await loadSweepSpecFile(path));
    const second = await waitForSweepEnd(cp.store, again.sweepId, 120_000);
    expect(second.status).toBe('completed');
    const queued = eventsOf(stack, again.sweepId, 'search-rung-queued').map((e) => e.payload as { trials: number });
    expect(queued.map((q) => q.trials)).toEqual([0, 0, 0]);
  }, 600_000);
});
