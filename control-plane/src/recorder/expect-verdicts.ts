/**
 * The verdict of a sweep's `expect` rules on its recorded results (docs/sweep-spec.md, `expect`), as the sweep's
 * summary keeps it and as `bslora sweep submit --wait`, the REST API and webhooks report it.
 */
import {
  evaluateExpectRules,
  trialCoordinates,
  type ExpectTrialResult,
  type ExpectVerdict,
  type SweepSpec,
} from '../sweep-specs/index.js';
import type { TrialRow } from '../store/store.js';
import type { TaskItems } from '../store/item-correctness.js';
import { compareConfigurations, configurationName } from '../stats/configuration-results.js';
import { meanInterval } from '../stats/t-interval.js';
import type { ConfidenceIntervals } from '../sweep-specs/evaluate-expect-rules.js';

/** The rules' verdicts and whether all passed (`null` when the spec has no rules). */
export interface ExpectOutcome {
  expect: ExpectVerdict[];
  expectPassed: boolean | null;
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Intervals over a set of trials for rules with `confidence` (accuracies as fractions). */
export function intervalsOf(
  rows: readonly TrialRow[],
  items: ReadonlyMap<string, ReadonlyMap<string, TaskItems>>,
): ConfidenceIntervals {
  return {
    mean(config, confidence) {
      const accs = rows
        .filter((r) => r.result?.meanAcc != null && configurationName(r.name) === config)
        .map((r) => r.result!.meanAcc!);
      const iv = meanInterval(accs, confidence);
      if (!iv || iv.lo === null || iv.hi === null)
        return { error: `${accs.length} seed${accs.length === 1 ? '' : 's'}, an interval needs at least 2` };
      return { mean: iv.mean, lo: iv.lo, hi: iv.hi };
    },
    difference(candidate, reference, confidence) {
      const c = compareConfigurations(rows, items, candidate, reference, { confidence });
      if (!c) return { error: 'no result' };
      if (!c.mean) return { error: c.reason ?? 'no paired difference' };
      return { mean: c.mean.mean, lo: c.mean.lo, hi: c.mean.hi };
    },
  };
}

/**
 * Judges `spec.expect` against the trials that have a result (accuracies as fractions, as the store keeps them);
 * `items`, the trials' per-item correctness, serves rules with `confidence`.
 */
export function expectVerdictsOf(
  spec: Pick<SweepSpec, 'expect'> | null | undefined,
  rows: readonly TrialRow[],
  items: ReadonlyMap<string, ReadonlyMap<string, TaskItems>> = new Map(),
): ExpectOutcome {
  const rules = spec?.expect ?? [];
  if (rules.length === 0) return { expect: [], expectPassed: null };
  const results: ExpectTrialResult[] = rows
    .filter((r) => r.result !== null)
    .map((r) => ({
      name: r.name,
      ...trialCoordinates(r.plan),
      trainableParams: r.result!.counts.total ?? null,
      metrics: {
        mean_acc: r.result!.meanAcc,
        mean_acc_norm: r.result!.metrics ? mean(Object.values(r.result!.metrics).map((m) => m.accNorm)) : null,
      },
    }));
  const expect = evaluateExpectRules(rules, results, { metricScale: 'fraction', intervals: intervalsOf(rows, items) });
  return { expect, expectPassed: expect.every((v) => v.passed) };
}
