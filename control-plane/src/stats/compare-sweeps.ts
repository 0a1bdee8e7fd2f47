/**
 * Comparisons: several sweeps that share base model, eval tasks and eval limit combined into one set of
 * configuration-level results. Trials are taken once each (equal trial keys are equal trials, whichever sweep ran
 * them), so seeds of one configuration spread over several sweeps pool into one row.
 */
import { ControlPlaneError } from '../errors.js';
import { itemsOfRows } from '../store/item-correctness.js';
import type { Store, TrialRow } from '../store/store.js';
import { configurationName, configurationResults, type ConfigurationResults } from './configuration-results.js';

export const MAX_COMPARED_SWEEPS = 50;

export interface Comparison {
  sweeps: { id: string; name: string; status: string; trials: number }[];
  baseModel: string;
  evalTasks: string[];
  evalLimit: number | null;
  /** Trials in all (each once). */
  trials: number;
  configurations: ConfigurationResults;
}

/** What two sweeps must share to be compared, read from their trial plans. */
function evalSetting(rows: readonly TrialRow[]) {
  const p = rows[0]!.plan;
  return { baseModel: p.baseModel, evalTasks: [...p.evalTasks].sort(), evalLimit: p.training?.evalLimit ?? null };
}

/**
 * Combines `sweepIds` (in the order given). Throws CP_ERR_SWEEP_NOT_FOUND for an unknown id, CP_ERR_API_REQUEST for
 * an empty or too long list or a sweep without trials, and CP_ERR_SWEEPS_INCOMPARABLE naming the first difference.
 */
export function compareSweeps(store: Store, sweepIds: readonly string[], reference?: string): Comparison {
  const ids = [...new Set(sweepIds.map((s) => s.trim()).filter(Boolean))];
  if (ids.length === 0)
    throw new ControlPlaneError('CP_ERR_API_REQUEST', 'name at least one sweep to compare, e.g. sweeps=sw-a,sw-b');
  if (ids.length > MAX_COMPARED_SWEEPS) {
    throw new ControlPlaneError(
      'CP_ERR_API_REQUEST',
      `${ids.length} sweeps named; compare at most ${MAX_COMPARED_SWEEPS} at a time`,
    );
  }
  const sweeps = ids.map((id) => {
    const sweep = store.getSweep(id);
    if (!sweep) throw new ControlPlaneError('CP_ERR_SWEEP_NOT_FOUND', `no sweep has id '${id}'`);
    const rows = store.trialsOfSweep(id);
    if (rows.length === 0) throw new ControlPlaneError('CP_ERR_API_REQUEST', `sweep ${id} has no trials to compare`);
    return { sweep, rows, setting: evalSetting(rows) };
  });
  const first = sweeps[0]!;
  for (const other of sweeps.slice(1)) {
    const a = first.setting;
    const b = other.setting;
    const pair = `sweeps ${first.sweep.id} and ${other.sweep.id}`;
    const differ = (what: string, x: unknown, y: unknown) =>
      new ControlPlaneError(
        'CP_ERR_SWEEPS_INCOMPARABLE',
        `${pair} cannot be compared: different ${what} (${JSON.stringify(x)} vs ${JSON.stringify(y)})`,
      );
    if (a.baseModel !== b.baseModel) throw differ('base model', a.baseModel, b.baseModel);
    if (a.evalTasks.join('\n') !== b.evalTasks.join('\n')) throw differ('eval tasks', a.evalTasks, b.evalTasks);
    if (a.evalLimit !== b.evalLimit) throw differ('eval limit', a.evalLimit, b.evalLimit);
  }
  const seen = new Set<string>();
  const rows = sweeps.flatMap((s) => s.rows).filter((r) => !seen.has(r.trialKey) && seen.add(r.trialKey));
  if (reference !== undefined && !rows.some((r) => configurationName(r.name) === reference)) {
    throw new ControlPlaneError(
      'CP_ERR_API_REQUEST',
      `reference '${reference}' is not a configuration of these sweeps`,
    );
  }
  return {
    sweeps: sweeps.map((s) => ({ id: s.sweep.id, name: s.sweep.name, status: s.sweep.status, trials: s.rows.length })),
    ...first.setting,
    trials: rows.length,
    configurations: configurationResults(rows, itemsOfRows(store.db, rows), { reference }),
  };
}
