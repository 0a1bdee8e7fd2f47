/**
 * What a searched sweep shows (REST `search` of GET /sweeps/:id, the CLI, the dashboard): its rungs, what each
 * rung kept and stopped, each trial's validation loss per rung, and the compute spent against the full grid's.
 * Pure: the store's rows in, one JSON object out.
 *
 * Compute. No step of a search runs twice (each rung continues from the previous rung's checkpoint), so a trial
 * that reached rung k cost exactly that rung's step count: the search's train steps are the sum of the steps each
 * trial reached, the grid's are trials × max_steps. Seconds: each trial's measured seconds per step (its rung
 * trainings and its final training, wall time of the worker's Train call over the steps it ran) times its steps;
 * the grid's are the same per-step times times max_steps (an estimate for the steps the search did not run), and
 * the mean per-step time of the sweep for a trial with no training measured here. Device-hours: seconds / 3600
 * (one trial trains on one device at a time).
 */
import type { RungResult, SearchTrialRow } from '../store/search-tables.js';
import { describeBucket } from './budget-buckets.js';
import type { SearchPlan } from './search-plan.js';

export interface SearchViewTrial {
  trialKey: string;
  name: string;
  config: string;
  bucket: number;
  params: number;
  /** The rung reached (0-based) and its step count. */
  rung: number;
  steps: number;
  stopped: boolean;
  /** Validation loss at each rung (null where it did not get there, or had no result). */
  validationLoss: (number | null)[];
}

export interface SearchView {
  strategy: 'successive_halving';
  eta: number;
  rungSteps: number[];
  /** The rung the search is at; rungSteps.length when it has finished its last. */
  currentRung: number;
  buckets: { index: number; label: string; low: number; high: number | null; configs: number; finalists: number }[];
  rungs: { rung: number; steps: number; configs: number; kept: number | null; stopped: number | null }[];
  trials: SearchViewTrial[];
  compute: {
    steps: number;
    gridSteps: number;
    stepShare: number;
    seconds: number;
    gridSeconds: number;
    deviceHours: number;
    gridDeviceHours: number;
  };
}

export function searchView(
  plan: SearchPlan,
  currentRung: number,
  finished: boolean,
  trials: readonly SearchTrialRow[],
  names: ReadonlyMap<string, string>,
  rungResults: ReadonlyMap<string, readonly RungResult[]>,
  finalTrain: ReadonlyMap<string, { steps: number; resumedFromStep: number; wallSeconds: number }>,
): SearchView {
  const last = plan.rungSteps.length - 1;
  const rows: SearchViewTrial[] = trials.map((t) => {
    const results = rungResults.get(t.trialKey) ?? [];
    return {
      trialKey: t.trialKey,
      name: names.get(t.trialKey) ?? t.trialKey.slice(0, 12),
      config: t.config,
      bucket: t.bucket,
      params: t.params,
      rung: t.rung,
      steps: plan.rungSteps[t.rung]!,
      stopped: t.stopped,
      validationLoss: plan.rungSteps.map((s, k) =>
        k <= t.rung ? (results.find((r) => r.steps === s)?.validationLoss ?? null) : null,
      ),
    };
  });

  // Seconds per step of each trial, from what trained here: its rung trainings and its final training.
  const perStep = new Map<string, number>();
  for (const t of trials) {
    let seconds = 0;
    let steps = 0;
    for (const r of rungResults.get(t.trialKey) ?? []) {
      if (r.steps < plan.maxSteps && r.stepsTrained > 0) {
        seconds += r.trainSeconds;
        steps += r.stepsTrained;
      }
    }
    // Only a finalist's final training is this search's: a stopped trial can still get a result later, from another
    // sweep that trains the same key to the end (the full grid), and that sweep's seconds are not this search's.
    const final = t.rung === last && !t.stopped ? finalTrain.get(t.trialKey) : undefined;
    if (final && final.steps - final.resumedFromStep > 0) {
      seconds += final.wallSeconds;
      steps += final.steps - final.resumedFromStep;
    }
    if (steps > 0) perStep.set(t.trialKey, seconds / steps);
  }
  const measured = [...perStep.values()];
  const mean = measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : 0;
  const secondsPerStep = (key: string) => perStep.get(key) ?? mean;
  const steps = rows.reduce((a, r) => a + r.steps, 0);
  const gridSteps = rows.length * plan.maxSteps;
  const seconds = rows.reduce((a, r) => a + r.steps * secondsPerStep(r.trialKey), 0);
  const gridSeconds = rows.reduce((a, r) => a + plan.maxSteps * secondsPerStep(r.trialKey), 0);

  const configsAt = (k: number) => new Set(rows.filter((r) => r.rung >= k).map((r) => r.config)).size;
  const rungs = plan.rungSteps.map((s, k) => {
    const entered = configsAt(k);
    const closed = k < last && (k < currentRung || finished);
    return {
      rung: k,
      steps: s,
      configs: entered,
      kept: closed ? configsAt(k + 1) : null,
      stopped: closed ? entered - configsAt(k + 1) : null,
    };
  });
  const buckets = plan.buckets.map((b) => ({
    index: b.index,
    label: describeBucket(b),
    low: b.low,
    high: Number.isFinite(b.high) ? b.high : null,
    configs: new Set(rows.filter((r) => r.bucket === b.index).map((r) => r.config)).size,
    finalists: new Set(rows.filter((r) => r.bucket === b.index && r.rung === last && !r.stopped).map((r) => r.config))
      .size,
  }));
  return {
    strategy: 'successive_halving',
    eta: plan.eta,
    rungSteps: plan.rungSteps,
    currentRung: finished ? plan.rungSteps.length : currentRung,
    buckets,
    rungs,
    trials: rows,
    compute: {
      steps,
      gridSteps,
      stepShare: gridSteps ? steps / gridSteps : 0,
      seconds,
      gridSeconds,
      deviceHours: seconds / 3600,
      gridDeviceHours: gridSeconds / 3600,
    },
  };
}

/** The search view of a sweep from the store; null for a sweep without a search. */
export function searchViewOf(
  store: {
    searchOf(id: string): { plan: unknown; rung: number } | undefined;
    searchTrials(id: string): SearchTrialRow[];
    rungResults(keys: readonly string[]): Map<string, RungResult[]>;
  },
  sweepId: string,
  rows: readonly { trialKey: string; name: string; result: { train: Record<string, unknown> } | null }[],
  finished: boolean,
): SearchView | null {
  const search = store.searchOf(sweepId);
  if (!search) return null;
  const plan = search.plan as SearchPlan;
  const trials = store.searchTrials(sweepId);
  const finalTrain = new Map<string, { steps: number; resumedFromStep: number; wallSeconds: number }>();
  const searched = new Set(trials.map((t) => t.trialKey));
  for (const r of rows) {
    if (!r.result || !searched.has(r.trialKey)) continue;
    const t = r.result.train;
    finalTrain.set(r.trialKey, {
      steps: Number(t.steps ?? 0),
      resumedFromStep: Number(t.resumedFromStep ?? 0),
      wallSeconds: Number(t.wallSeconds ?? 0),
    });
  }
  return searchView(
    plan,
    search.rung,
    finished,
    trials,
    new Map(rows.map((r) => [r.trialKey, r.name])),
    store.rungResults(trials.map((t) => t.trialKey)),
    finalTrain,
  );
}
