/**
 * The page works out the sweep summary again from the trials it holds (static/sweep-summary.js) each time a live
 * event changes one; it must agree with the server's (recorder/summarize-sweep.ts) on the same trials.
 */
import { describe, expect, it } from 'vitest';
import { summarizeSweep } from '../recorder/summarize-sweep.js';
import type { TrialRow } from '../store/store.js';
import { summarizeTrials } from './static/sweep-summary.js';

/** A deterministic pseudo-random sequence, so that a failure can be replayed. */
function rng(seed: number) {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function randomRows(n: number, seed: number): TrialRow[] {
  const r = rng(seed);
  const methods = ['lora', 'bslora', 'vera', 'base'];
  return Array.from({ length: n }, (_, i) => {
    const method = methods[Math.floor(r() * methods.length)];
    const roll = r();
    const status = roll < 0.6 ? 'completed' : roll < 0.75 ? 'failed' : roll < 0.9 ? 'queued' : 'running';
    // Few distinct sizes and accuracies, so that ties (equal points, equal LoRA sizes) happen.
    const total = method === 'base' ? 0 : [1000, 2000, 4000, 8000][Math.floor(r() * 4)];
    const meanAcc = r() < 0.1 ? null : Math.round(r() * 10) / 10;
    return {
      trialKey: `k${i}`,
      name: `${method}-${i}`,
      method,
      status,
      lastError: null,
      reused: false,
      plan: {} as TrialRow['plan'],
      result:
        status === 'completed'
          ? {
              counts: { total },
              initialLoss: null,
              finalLoss: null,
              train: {},
              metrics: null,
              adapterSha256: null,
              meanAcc,
              recordedAt: '',
            }
          : null,
    } as TrialRow;
  });
}

describe('summarizeTrials (the page) against summarizeSweep (the server)', () => {
  for (const [n, seed] of [
    [0, 1],
    [1, 2],
    [12, 3],
    [200, 4],
    [2000, 5],
  ]) {
    it(`agrees on ${n} random trials (seed ${seed})`, () => {
      const rows = randomRows(n, seed);
      const server = summarizeSweep(rows);
      // What the page holds of each trial: its table row, with the derived fields still to be worked out.
      const page = server.trials.map((t) => ({ ...t, loraShare: null, accDelta: null, onFront: false }));
      const totals = summarizeTrials(page);
      expect(totals).toEqual({
        loraBaseline: server.loraBaseline,
        completed: server.completed,
        failed: server.failed,
      });
      expect(page).toEqual(server.trials);
    });
  }
});
