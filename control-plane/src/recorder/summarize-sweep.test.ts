import { describe, expect, it } from 'vitest';
import type { TrialRow } from '../store/store.js';
import { paretoFront, summarizeSweep } from './summarize-sweep.js';

function row(
  name: string,
  method: string,
  total: number | null,
  meanAcc: number | null,
  status = 'completed',
): TrialRow {
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
        : {
            counts: { total },
            initialLoss: 2,
            finalLoss: 1,
            train: {},
            metrics: null,
            adapterSha256: null,
            meanAcc,
            recordedAt: '',
          },
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
    const s = summarizeSweep([
      row('lora4', 'lora', 500, 0.5),
      row('lora8', 'lora', 1000, 0.6),
      row('bs', 'bslora', 400, 0.63),
    ]);
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

  it('finds the same front as the pairwise definition, ties and duplicates included', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 50; round++) {
      const points = Array.from({ length: 1 + rand(40) }, (_, i) => ({
        key: `p${i}`,
        params: rand(8) * 100,
        acc: rand(5) / 4,
      }));
      const pairwise = points.filter(
        (p) =>
          !points.some(
            (q) => q !== p && q.params <= p.params && q.acc >= p.acc && (q.params < p.params || q.acc > p.acc),
          ),
      );
      expect([...paretoFront(points)].sort()).toEqual(pairwise.map((p) => p.key).sort());
    }
  });

  it('puts every one of many identical points on the front, in time that grows about linearly with their number', () => {
    const identical = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `p${i}`, params: 0, acc: 0 }));
    // Fastest of a few runs each, so a pause of the (shared) machine does not count; 10x the points must cost far
    // less than the 100x a pairwise comparison of identical points would.
    const fastest = (n: number) => {
      const points = identical(n);
      let best = Infinity;
      for (let r = 0; r < 5; r++) {
        const t = performance.now();
        expect(paretoFront(points).size).toBe(n);
        best = Math.min(best, performance.now() - t);
      }
      return best;
    };
    fastest(2_000); // warm-up: the JIT compiles the loop
    const small = fastest(2_000);
    const large = fastest(20_000);
    expect(large / small).toBeLessThan(40);
  });
});
