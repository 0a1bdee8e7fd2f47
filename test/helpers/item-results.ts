/**
 * Feeds a sweep's trials eval results with chosen per-item correctness through the recorder's own
 * `recordEvalResult` (real store, real item bits), for tests of configuration-level statistics without training.
 */
import type { ControlPlane } from '../../control-plane/src/control-plane.js';
import type { TrainJobResult } from '../../control-plane/src/queue/queues.js';
import { recordEvalResult } from '../../control-plane/src/recorder/result-recorder.js';
import { packItemBits } from '../../control-plane/src/stats/item-bits.js';

/**
 * Whether item `i` of seed `s` (on task number `k`) is right, per configuration name (trial name without `-s<seed>`).
 */
export type ItemTruth = Record<string, (i: number, s: number, k: number) => boolean>;

export function recordItemResults(
  cp: ControlPlane,
  sweepId: string,
  opts: { tasks: string[]; items: number; correct: ItemTruth; params: Record<string, number> },
): void {
  for (const t of cp.store.trialsOfSweep(sweepId)) {
    const config = t.name.replace(/-s\d+$/, '');
    const flags = opts.tasks.map((_, k) =>
      Array.from({ length: opts.items }, (_, i) => opts.correct[config]!(i, t.plan.seed, k)),
    );
    const total = opts.params[config]!;
    const train = {
      trialKey: t.trialKey,
      counts: { local: total, intra: 0, inter: 0, transform: 0, total },
      initialLoss: 2,
      finalLoss: 1,
      adapterSha256: 'a'.repeat(64),
    };
    const acc = (k: number) => flags[k]!.filter(Boolean).length / opts.items;
    recordEvalResult(cp.store, sweepId, {
      trialKey: t.trialKey,
      train: train as unknown as TrainJobResult,
      metrics: Object.fromEntries(
        opts.tasks.map((task, k) => [task, { acc: acc(k), accNorm: acc(k), n: opts.items }]),
      ),
      error: null,
      itemCorrect: Object.fromEntries(
        opts.tasks.map((task, k) => [task, Buffer.from(packItemBits(flags[k]!)).toString('base64')]),
      ),
    });
  }
}
