import { describe, expect, it } from 'vitest';
import type { TrialRow } from '../store/store.js';
import { summarizeSweep } from './summarize-sweep.js';

function row(name: string, method: string, total: number | null, meanAcc: number | null, status = 'completed'): TrialRow {
  return {
    trialKey: name,
    name,
    method,
    status: status as TrialRow['status'],
    lastError: null,
    reused: false,
    plan: {} as TrialRow['plan'],
    result:
      total === null
        ? null
        : { counts: { total }, initialLoss: 2, finalLoss: 1, train: {}, metrics: null, adapterSha256: null, meanAcc, recordedAt: '' },
  };
}

describe('summarizeSweep', () => {
  it('marks the Pareto front of parameters against accuracy', () => {
    const s = summarizeSweep([
      row('lora8', 'lora', 1000, 0.6),
      row('bs-small', 'bslora', 300, 0.58),
      row('bs-dominated', 'bslora', 500, 0.55),
      row('bs-best', 'bslora', 450, 0.62),
    ]);
    const front = s.trials.filter((t) => t.onFront).map((t) => t.name);
    expect(front.sort()).toEqual(['bs-best', 'bs-small']);
  });

  it('gives each trial its share of the largest LoRA baseline and its accuracy delta', () => {
    const s = summarizeSweep([row('lora4', 'lora', 500, 0.5), row('lora8', 'lora', 1000, 0.6), row('bs', 'bslora', 400, 0.63)]);
    expect(s.loraBaseline).toBe('lora8');
    const bs = s.trials.find((t) => t.name === 'bs')!;
    expect(bs.loraShare).toBeCloseTo(0.4);
    expect(bs.accDelta).toBeCloseTo(0.03);
  });

  it('counts failures and leaves failed trials off the front', () => {
    const s = summarizeSweep([row('lora8', 'lora', 1000, 0.6), row('bs', 'bslora', null, null, 'failed')]);
    expect(s.failed).toBe(1);
    expect(s.completed).toBe(1);
    expect(s.trials.find((t) => t.name === 'bs')!.onFront).toBe(false);
  });
});
