/**
 * The aggregate of a finished sweep: the table, the Pareto front of trainable parameters against mean accuracy,
 * and each trial's share of the LoRA baseline's parameters with its accuracy delta.
 */
import type { TrialRow } from '../store/store.js';

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
  const loras = rows.filter((r) => r.method === 'lora' && r.result);
  const baseline = loras.sort((a, b) => (b.result!.counts.total ?? 0) - (a.result!.counts.total ?? 0))[0];
  const withAcc = rows.filter((r) => r.result && r.result.meanAcc !== null && r.method !== 'base');
  // A point is on the front when no other point has fewer-or-equal parameters and strictly higher accuracy
  // (or equal accuracy with strictly fewer parameters).
  const front = new Set(
    withAcc
      .filter(
        (p) =>
          !withAcc.some(
            (q) =>
              q !== p &&
              q.result!.counts.total <= p.result!.counts.total &&
              q.result!.meanAcc! >= p.result!.meanAcc! &&
              (q.result!.counts.total < p.result!.counts.total || q.result!.meanAcc! > p.result!.meanAcc!),
          ),
      )
      .map((p) => p.trialKey),
  );
  const trials = rows.map((r): TrialSummary => {
    const trainable = r.result ? r.result.counts.total ?? null : null;
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
        r.result?.meanAcc != null && baseline?.result?.meanAcc != null ? r.result.meanAcc - baseline.result.meanAcc : null,
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
