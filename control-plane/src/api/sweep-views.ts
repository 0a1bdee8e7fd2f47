/** The JSON views of a sweep that several endpoints share (detail, trials, results), built from the store. */
import type { ControlPlane } from '../control-plane.js';
import { ControlPlaneError } from '../errors.js';
import { expectVerdictsOf } from '../recorder/expect-verdicts.js';
import { summarizeSweep } from '../recorder/summarize-sweep.js';
import type { SweepRow, TrialRow } from '../store/store.js';
import type { SweepSpec } from '../sweep-specs/index.js';
import { itemsOfRows } from '../store/item-correctness.js';
import { configurationResults } from '../stats/configuration-results.js';

export function sweepOr404(cp: ControlPlane, id: string): SweepRow {
  const sweep = cp.store.getSweep(id);
  if (!sweep) throw new ControlPlaneError('CP_ERR_SWEEP_NOT_FOUND', `no sweep has id '${id}'`);
  return sweep;
}

function trialView(cp: ControlPlane, t: TrialRow) {
  return {
    trialKey: t.trialKey,
    name: t.name,
    method: t.method,
    status: t.status,
    reused: t.reused,
    lastError: t.lastError,
    progress: cp.progress.get(t.trialKey) ?? null,
    result: t.result,
  };
}

export function sweepDetail(cp: ControlPlane, id: string) {
  const sweep = sweepOr404(cp, id);
  return { ...sweep, source: sweep.source ?? null, trials: cp.store.trialsOfSweep(id).map((t) => trialView(cp, t)) };
}

export function sweepTrials(cp: ControlPlane, id: string) {
  sweepOr404(cp, id);
  return { sweepId: id, trials: cp.store.trialsOfSweep(id).map((t) => ({ ...trialView(cp, t), plan: t.plan as unknown as Record<string, unknown> })) };
}

/** What GET results can add to each trial row on request (`?include=plan,result`). */
export const RESULTS_INCLUDES = ['plan', 'result'] as const;
export type ResultsInclude = (typeof RESULTS_INCLUDES)[number];

/**
 * The results document. Each trial row is the table line (summary, the grid coordinates that tell trials apart,
 * parameter counts by part, accuracy per task), not the whole record: a 1,000-trial sweep's document is ~0.6 MB
 * instead of ~2.2 MB with every plan and train report, which is what let GET results meet its load target
 * (docs/benchmarks.md, "REST API load"). The full plan and result are one `?include=plan,result` away, and always in
 * GET /trials.
 */
export function sweepResults(cp: ControlPlane, id: string, include: readonly ResultsInclude[] = [], reference?: string) {
  const sweep = sweepOr404(cp, id);
  const rows = cp.store.trialsOfSweep(id);
  const summary = summarizeSweep(rows);
  const items = itemsOfRows(cp.store.db, rows);
  const withPlan = include.includes('plan');
  const withResult = include.includes('result');
  return {
    sweepId: id,
    status: sweep.status,
    ...summary,
    ...expectVerdictsOf(sweep.spec as SweepSpec, rows, items),
    configurations: configurationResults(rows, items, { reference: referenceOr400(rows, reference) }),
    trials: summary.trials.map((s, i) => {
      const row = rows[i];
      const p = row.plan;
      const metrics = row.result?.metrics ?? null;
      return {
        ...s,
        config: {
          rank: p.rank,
          ranks: p.ranks,
          shareMode: p.shareMode,
          kronShareSize: p.kronShareSize,
          gateShareSize: p.gateShareSize,
          seed: p.seed,
        },
        counts: row.result?.counts ?? null,
        accuracy: metrics ? Object.fromEntries(Object.entries(metrics).map(([task, m]) => [task, m.acc])) : null,
        ...(withPlan ? { plan: p as unknown as Record<string, unknown> } : {}),
        ...(withResult ? { result: row.result } : {}),
      };
    }),
  };
}

export const FINAL_SWEEP_STATUSES: ReadonlySet<string> = new Set(['completed', 'completed_with_failures', 'cancelled']);

/** A chosen reference configuration, checked against the trials' configuration names. */
export function referenceOr400(rows: readonly TrialRow[], reference: string | undefined): string | undefined {
  if (reference === undefined) return undefined;
  const names = [...new Set(rows.map((r) => r.name.replace(/-s\d+$/, '')))];
  if (!names.includes(reference)) {
    throw new ControlPlaneError(
      'CP_ERR_API_REQUEST',
      `reference '${reference}' is not a configuration of this sweep; use one of: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}`,
    );
  }
  return reference;
}
