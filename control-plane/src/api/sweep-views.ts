/** The JSON views of a sweep that several endpoints share (detail, trials, results), built from the store. */
import type { ControlPlane } from '../control-plane.js';
import { ControlPlaneError } from '../errors.js';
import { expectVerdictsOf } from '../recorder/expect-verdicts.js';
import { summarizeSweep } from '../recorder/summarize-sweep.js';
import type { SweepRow, TrialRow } from '../store/store.js';
import type { SweepSpec } from '../sweep-specs/index.js';

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

export function sweepResults(cp: ControlPlane, id: string) {
  const sweep = sweepOr404(cp, id);
  const rows = cp.store.trialsOfSweep(id);
  const summary = summarizeSweep(rows);
  return {
    sweepId: id,
    status: sweep.status,
    ...summary,
    ...expectVerdictsOf(sweep.spec as SweepSpec, rows),
    trials: summary.trials.map((s, i) => ({ ...s, plan: rows[i].plan as unknown as Record<string, unknown>, result: rows[i].result })),
  };
}

export const FINAL_SWEEP_STATUSES: ReadonlySet<string> = new Set(['completed', 'completed_with_failures', 'cancelled']);
