import { describe, expect, it } from 'vitest';
import { searchTable } from '../cli/search-view.js';
import type { RungResult, SearchTrialRow } from '../store/search-tables.js';
import { bucketsOf } from './budget-buckets.js';
import type { SearchPlan } from './search-plan.js';
import { searchView } from './search-view.js';

// Four configurations in two buckets, eta 2, rungs 2 / 4 / 8: a and c stop at rung 1, b at rung 2, d is the finalist.
const plan: SearchPlan = {
  eta: 2,
  minSteps: 2,
  maxSteps: 8,
  rungSteps: [2, 4, 8],
  buckets: bucketsOf({ edges: [1_000] }, []),
  configs: [],
};
const row = (k: string, bucket: number, rung: number, stopped: boolean): SearchTrialRow => ({
  trialKey: k,
  config: k,
  bucket,
  params: bucket === 0 ? 500 : 2_000,
  rung,
  stopped,
});
const rung = (k: string, steps: number, stepsTrained: number, trainSeconds: number, loss: number): RungResult => ({
  trialKey: k,
  steps,
  validationLoss: loss,
  validationExamples: 8,
  stepsTrained,
  trainSeconds,
  adapterSha256: null,
});

describe('the search view', () => {
  const trials = [row('a', 0, 0, true), row('b', 0, 1, true), row('c', 1, 0, true), row('d', 1, 2, false)];
  const results = new Map<string, RungResult[]>([
    ['a', [rung('a', 2, 2, 2, 1.9)]],
    ['b', [rung('b', 2, 2, 2, 1.5), rung('b', 4, 2, 2, 1.4)]],
    ['c', [rung('c', 2, 2, 4, 1.8)]],
    ['d', [rung('d', 2, 2, 4, 1.2), rung('d', 4, 2, 4, 1.1), rung('d', 8, 4, 8, 1.0)]],
  ]);
  const names = new Map(trials.map((t) => [t.trialKey, `${t.trialKey}-s0`]));
  const view = searchView(plan, 2, true, trials, names, results, new Map());

  it('counts the steps each trial reached against the full grid, and seconds from each one’s seconds per step', () => {
    // 2 + 4 + 2 + 8 = 16 of 4 · 8 = 32 steps; a and b train at 1 s a step, c and d at 2 s.
    expect(view.compute).toMatchObject({ steps: 16, gridSteps: 32, stepShare: 0.5, seconds: 2 + 4 + 4 + 16 });
    expect(view.compute.gridSeconds).toBe(8 + 8 + 16 + 16);
    expect(view.rungs).toEqual([
      { rung: 0, steps: 2, configs: 4, kept: 2, stopped: 2 },
      { rung: 1, steps: 4, configs: 2, kept: 1, stopped: 1 },
      { rung: 2, steps: 8, configs: 1, kept: null, stopped: null },
    ]);
    expect(view.trials.find((t) => t.trialKey === 'b')!.validationLoss).toEqual([1.5, 1.4, null]);
    expect(view.buckets.map((b) => [b.label, b.configs, b.finalists])).toEqual([
      ['[0, 1k)', 2, 0],
      ['[1k, ∞)', 2, 1],
    ]);
  });

  it('counts a final training only for the finalists: a stopped trial trained to the end by another sweep is not', () => {
    // the full grid trained the stopped a (from its step-2 checkpoint) and the finalist d's key is the grid's too
    const later = new Map([['a', { steps: 8, resumedFromStep: 2, wallSeconds: 600 }]]);
    expect(searchView(plan, 2, true, trials, names, results, later).compute).toEqual(view.compute);
    // a finalist's final training does count: d trained steps 4 to 8 in 8 s, the same rate as its rungs
    const finalist = new Map([['d', { steps: 8, resumedFromStep: 4, wallSeconds: 8 }]]);
    expect(searchView(plan, 2, true, trials, names, results, finalist).compute.seconds).toBe(view.compute.seconds);
    const slower = new Map([['d', { steps: 8, resumedFromStep: 4, wallSeconds: 40 }]]);
    expect(searchView(plan, 2, true, trials, names, results, slower).compute.seconds).toBeGreaterThan(
      view.compute.seconds,
    );
  });

  it('prints the rungs, the buckets, the compute and what stopped early in the CLI', () => {
    const text = searchTable(view);
    expect(text).toContain('successive halving, eta 2, rungs at steps 2, 4, 8:');
    expect(text).toContain("compute: 16 of the full grid's 32 train steps (50.0%)");
    expect(text).toContain('stopped early (3):');
    expect(text).toContain('  b-s0: stopped at rung 2 (step 4), validation loss 1.4000');
    expect(text).toMatch(/^3\/3\s+8\s+1\s+\(final\)/m);
  });
});
