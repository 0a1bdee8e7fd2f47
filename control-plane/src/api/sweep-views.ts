/** The JSON views of a sweep that several endpoints share (detail, trials, results), built from the store. */
import type { ControlPlane } from '../control-plane.js';
import { ControlPlaneError } from '../errors.js';
import { expectVerdictsOf } from '../recorder/expect-verdicts.js';
import { summarizeSweep } from '../recorder/summarize-sweep.js';
import type { SweepRow, TrialRow } from '../store/store.js';
import { Trial, trialCoordinates, type SweepSpec } from '../sweep-specs/index.js';

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
  return { sweepId: id, trials: cp.store.trialsOfSweep(id).map((t) => ({ ...trialView(cp, t), plan: Trial.toJSON(t.plan) as Record<string, unknown> })) };
}

/** What GET results can add to each trial row on request (`?include=plan,result`). */
export const RESULTS_INCLUDES = ['plan', 'result'] as const;
export type ResultsInclude = (typeof RESULTS_INCLUDES)[number];

/**
 * The results document. Each trial row is the table line (summary, the grid coordinates that tell trials apart,
 * parameter counts by part, accuracy per task), not the whole record: the plans and train reports are most of a
 * record's bytes, and a document carrying them for every trial is served too slowly for the API's load target
 * (docs/benchmarks.md, "REST API load"). The full plan and result are one `?include=plan,result` away, and always in
 * GET /trials.
 */
export function sweepResults(cp: ControlPlane, id: string, include: readonly ResultsInclude[] = []) {
  const sweep = sweepOr404(cp, id);
  const rows = cp.store.trialsOfSweep(id);
  const summary = summarizeSweep(rows);
  const withPlan = include.includes('plan');
  const withResult = include.includes('result');
  return {
    sweepId: id,
    status: sweep.status,
    ...summary,
    ...expectVerdictsOf(sweep.spec as SweepSpec, rows),
    trials: summary.trials.map((s, i) => {
      const row = rows[i];
      const p = row.plan;
      const c = trialCoordinates(p);
      const metrics = row.result?.metrics ?? null;
      return {
        ...s,
        config: {
          rank: c.rank,
          ranks: c.ranks,
          shareMode: c.shareMode,
          kronShareSize: c.shareMode === 'kron' ? c.shareSize : null,
          gateShareSize: c.shareMode === 'gate' ? c.shareSize : null,
          seed: c.seed,
        },
        counts: row.result?.counts ?? null,
        accuracy: metrics ? Object.fromEntries(Object.entries(metrics).map(([task, m]) => [task, m.acc])) : null,
        ...(withPlan ? { plan: Trial.toJSON(p) as Record<string, unknown> } : {}),
        ...(withResult ? { result: row.result } : {}),
      };
    }),
  };
}

