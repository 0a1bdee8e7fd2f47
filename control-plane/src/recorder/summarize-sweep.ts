/**
 * The aggregate of a finished sweep: the table, the Pareto front of trainable parameters against mean accuracy,
 * and each trial's share of the LoRA baseline's parameters with its accuracy delta.
 */
import type { TrialRow } from '../store/store.js';
import { pickLoraBaseline } from './lora-baseline.js';

export interface TrialSummary {
  trialKey: string;
  name: string;
  method: string;
  status: string;
  trainable: number | null;
  finalLoss: number | null;
  meanAcc: number | null;
  /** Trainable parameters as a fraction of the largest-rank LoRA baseline's (null without one). */
  loraShare: number | null;
  /** Mean accuracy minus that baseline's (points of accuracy, 0–1 scale). */
  accDelta: number | null;
  onFront: boolean;
}

export interface SweepSummary {
  trials: TrialSummary[];
  loraBaseline: string | null;
  completed: number;
  failed: number;
}

export function summarizeSweep(rows: TrialRow[]): SweepSummary {
  const baseline = pickLoraBaseline(rows, (r) => (r.result ? (r.result.counts.total ?? 0) : null));
  const withAcc = rows.filter((r) => r.result && r.result.meanAcc !== null && r.method !== 'base');
  const front = paretoFront(
    withAcc.map((r) => ({ key: r.trialKey, params: r.result!.counts.total, acc: r.result!.meanAcc! })),
  );
  const trials = rows.map((r): TrialSummary => {
    const trainable = r.result ? (r.result.counts.total ?? null) : null;
    const baseTotal = baseline?.result?.counts.total;
    return {
      trialKey: r.trialKey,
      name: r.name,
      method: r.method,
      status: r.status,
      trainable,
      finalLoss: r.result?.finalLoss ?? null,
      meanAcc: r.result?.meanAcc ?? null,
      loraShare: trainable !== null && baseTotal ? trainable / baseTotal : null,
      accDelta:
        r.result?.meanAcc != null && baseline?.result?.meanAcc != null
          ? r.result.meanAcc - baseline.result.meanAcc
          : null,
      onFront: front.has(r.trialKey),
    };
  });
  return {
    trials,
    loraBaseline: baseline?.name ?? null,
    completed: rows.filter((r) => r.status === 'completed').length,
    failed: rows.filter((r) => r.status === 'failed').length,
  };
}

/**
 * Keys of the points on the Pareto front of parameters (fewer is better) against accuracy (higher is better). A
 * point is on the front when no other point has fewer-or-equal parameters and higher-or-equal accuracy and is
 * strictly better in one of them; identical points are all on it. A point whose parameters or accuracy is not a
 * number is on the front and dominates nothing.
 *
 * O(n log n), so that closing a sweep stays cheap when it has many trials with equal points (seeds of one
 * configuration at equal accuracy, every dry-run result), where a pairwise check is n²: sorted by parameters, a point
 * is dominated when a point with strictly fewer parameters is at least as accurate (the best accuracy seen so far),
 * or a point with the same parameters is strictly more accurate.
 */
export function paretoFront(points: { key: string; params: number; acc: number }[]): Set<string> {
  const valid = (p: { params: number; acc: number }) =>
    typeof p.params === 'number' && !Number.isNaN(p.params) && !Number.isNaN(p.acc);
  const front = new Set(points.filter((p) => !valid(p)).map((p) => p.key));
  const sorted = points.filter(valid).sort((a, b) => a.params - b.params);
  let bestFewer = -Infinity;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    let groupBest = -Infinity;
    for (; j < sorted.length && sorted[j].params === sorted[i].params; j++)
      groupBest = Math.max(groupBest, sorted[j].acc);
    for (let k = i; k < j; k++)
      if (!(bestFewer >= sorted[k].acc) && !(groupBest > sorted[k].acc)) front.add(sorted[k].key);
    bestFewer = Math.max(bestFewer, groupBest);
    i = j;
  }
  return front;
}
