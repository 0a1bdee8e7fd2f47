/**
 * The verdict of a sweep's `expect` rules on its recorded results (docs/sweep-spec.md, `expect`), as the sweep's
 * summary keeps it and as `bslora sweep submit --wait`, the REST API and webhooks report it.
 */
import { evaluateExpectRules, trialCoordinates, type ExpectTrialResult, type ExpectVerdict, type SweepSpec } from '../sweep-specs/index.js';
import type { TrialRow } from '../store/store.js';

/** The rules' verdicts and whether all passed (`null` when the spec has no rules). */
export interface ExpectOutcome {
  expect: ExpectVerdict[];
  expectPassed: boolean | null;
}

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Judges `spec.expect` against the trials that have a result (accuracies as fractions, as the store keeps them). */
export function expectVerdictsOf(spec: Pick<SweepSpec, 'expect'> | null | undefined, rows: readonly TrialRow[]): ExpectOutcome {
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
  const expect = evaluateExpectRules(rules, results, { metricScale: 'fraction' });
  return { expect, expectPassed: expect.every((v) => v.passed) };
}
