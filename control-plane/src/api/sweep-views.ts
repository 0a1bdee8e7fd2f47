/** The JSON views of a sweep that several endpoints share (detail, trials, results), built from the store. */
import type { ControlPlane } from '../control-plane.js';
import { ControlPlaneError } from '../errors.js';
import { expectVerdictsOf } from '../recorder/expect-verdicts.js';
import { FOOTPRINT_FIELDS } from '../recorder/serving-footprint.js';
import { summarizeSweep } from '../recorder/summarize-sweep.js';
import type { SweepRow, TrialRow } from '../store/store.js';
import { Trial, trialCoordinates, type SweepSpec } from '../sweep-specs/index.js';
import { trialScale } from '../sweep-specs/training-settings.js';
import { itemsOfRows } from '../store/item-correctness.js';
import { configurationResults } from '../stats/configuration-results.js';
import { searchViewOf } from '../search/search-view.js';
import { isUnfinished } from '../store/statuses.js';

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
    // The adapter scale s (dW = s * B A) the worker applies; null for vera and base.
    scale: trialScale(t.plan),
    peftName: t.plan.method?.$case === 'peft' ? t.plan.method.value.name : null,
    status: t.status,
    reused: t.reused,
    lastError: t.lastError,
    progress: cp.progress.get(t.trialKey) ?? null,
    result: t.result,
  };
}

export function sweepDetail(cp: ControlPlane, id: string) {
  const sweep = sweepOr404(cp, id);
  const rows = cp.store.trialsOfSweep(id);
  return {
    ...sweep,
    source: sweep.source ?? null,
    trials: rows.map((t) => trialView(cp, t)),
    search: searchViewOf(cp.store, id, rows, !isUnfinished(sweep.status)),
  };
}

/** A searched sweep's search view (search/search-view.ts); null for a sweep without a search. */
export function sweepSearch(cp: ControlPlane, id: string) {
  const sweep = sweepOr404(cp, id);
  return searchViewOf(cp.store, id, cp.store.trialsOfSweep(id), !isUnfinished(sweep.status));
}

export function sweepTrials(cp: ControlPlane, id: string) {
  sweepOr404(cp, id);
  return {
    sweepId: id,
    trials: cp.store
      .trialsOfSweep(id)
      .map((t) => ({ ...trialView(cp, t), plan: Trial.toJSON(t.plan) as Record<string, unknown> })),
  };
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
export function sweepResults(
  cp: ControlPlane,
  id: string,
  include: readonly ResultsInclude[] = [],
  reference?: string,
) {
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
      return {
        ...s,
        ...tableColumnsOf(row),
        ...(withPlan ? { plan: Trial.toJSON(row.plan) as Record<string, unknown> } : {}),
        ...(withResult ? { result: row.result } : {}),
      };
    }),
  };
}

/**
 * The configuration-level results alone. The dashboard's configuration views read this rather than the results
 * document, whose trial rows are megabytes at thousands of trials and which the page already has in columns.
 */
export function sweepConfigurations(cp: ControlPlane, id: string, reference?: string) {
  const sweep = sweepOr404(cp, id);
  const rows = cp.store.trialsOfSweep(id);
  return {
    sweepId: id,
    status: sweep.status,
    configurations: configurationResults(rows, itemsOfRows(cp.store.db, rows), {
      reference: referenceOr400(rows, reference),
    }),
  };
}

/** The parts of a trial's table row that depend on the trial alone: its grid coordinates, counts and accuracies. */
function tableColumnsOf(row: TrialRow) {
  const c = trialCoordinates(row.plan);
  const metrics = row.result?.metrics ?? null;
  return {
    config: {
      rank: c.rank,
      ranks: c.ranks,
      shareMode: c.shareMode,
      kronShareSize: c.shareMode === 'kron' ? c.shareSize : null,
      gateShareSize: c.shareMode === 'gate' ? c.shareSize : null,
      peftName: c.peftName,
      scale: trialScale(row.plan),
      seed: c.seed,
    },
    counts: row.result?.counts ?? null,
    accuracy: metrics ? Object.fromEntries(Object.entries(metrics).map(([task, m]) => [task, m.acc])) : null,
  };
}

/**
 * What a finished trial adds to its row of the results table, as the `trial-finished` event carries it: the fields
 * that change when a trial finishes (its identity and grid coordinates are in the table the client holds already),
 * less what depends on the other trials (share of the LoRA baseline, accuracy delta, front membership), which a
 * client that holds the table works out again.
 */
export function finishedTrialRow(row: TrialRow) {
  const { accuracy } = tableColumnsOf(row);
  return {
    status: row.status,
    trainable: row.result ? (row.result.counts.total ?? null) : null,
    finalLoss: row.result?.finalLoss ?? null,
    meanAcc: row.result?.meanAcc ?? null,
    lastError: row.lastError,
    reused: row.reused,
    accuracy,
    footprint: footprintOf(row),
  };
}

/** The serving footprint a trial's result records (flat in its counts), or null before it has one. */
function footprintOf(row: TrialRow): Record<string, number> | null {
  const counts = row.result?.counts;
  if (!counts) return null;
  const out: Record<string, number> = {};
  for (const f of FOOTPRINT_FIELDS) if (typeof counts[f.key] === 'number') out[f.key] = counts[f.key];
  return Object.keys(out).length > 0 ? out : null;
}

/** One trial of a sweep with its plan, status, live progress and whole result (what the dashboard loads on hover). */
export function sweepTrial(cp: ControlPlane, id: string, trialKey: string) {
  sweepOr404(cp, id);
  const row = cp.store.trialOfSweep(id, trialKey);
  if (!row) throw new ControlPlaneError('CP_ERR_TRIAL_NOT_FOUND', `sweep '${id}' has no trial with key '${trialKey}'`);
  return { ...trialView(cp, row), plan: Trial.toJSON(row.plan) as Record<string, unknown> };
}

/**
 * The results table in columns (`?format=columns`): one array per field, index i being the sweep's i-th trial in
 * plan order, with the sweep's header, its summary and expect verdicts, and `eventId`, the id of the last live
 * event the table includes (a client follows GET …/events?since=<eventId> from there). Field names are written
 * once instead of once per trial, and there are no plans: what the dashboard's first screen needs, a fraction of
 * the JSON rows' size.
 */
export function sweepResultColumns(cp: ControlPlane, id: string, eventId: string) {
  const sweep = sweepOr404(cp, id);
  const rows = cp.store.trialsOfSweep(id);
  const summary = summarizeSweep(rows);
  const spec = sweep.spec as SweepSpec & { description?: unknown };
  // Eval tasks in the spec's order, then any other task a result reports.
  const tasks: string[] = [];
  for (const r of rows) for (const t of r.plan.evalTasks) if (!tasks.includes(t)) tasks.push(t);
  const extra = new Set<string>();
  for (const r of rows) for (const t of Object.keys(r.result?.metrics ?? {})) if (!tasks.includes(t)) extra.add(t);
  tasks.push(...[...extra].sort());
  const col = <T>(f: (s: (typeof summary.trials)[number], r: TrialRow) => T): T[] =>
    summary.trials.map((s, i) => f(s, rows[i]));
  const coords = rows.map((r) => trialCoordinates(r.plan));
  const coord = <T>(f: (c: (typeof coords)[number]) => T): T[] => coords.map(f);
  return {
    sweepId: id,
    eventId,
    sweep: {
      id: sweep.id,
      name: sweep.name,
      status: sweep.status,
      createdAt: sweep.createdAt,
      finishedAt: sweep.finishedAt,
      description: typeof spec?.description === 'string' ? spec.description : null,
    },
    status: sweep.status,
    loraBaseline: summary.loraBaseline,
    completed: summary.completed,
    failed: summary.failed,
    ...expectVerdictsOf(sweep.spec as SweepSpec, rows),
    tasks,
    trials: {
      trialKey: col((s) => s.trialKey),
      name: col((s) => s.name),
      method: col((s) => s.method),
      status: col((s) => s.status),
      trainable: col((s) => s.trainable),
      finalLoss: col((s) => s.finalLoss),
      meanAcc: col((s) => s.meanAcc),
      loraShare: col((s) => s.loraShare),
      accDelta: col((s) => s.accDelta),
      onFront: col((s) => s.onFront),
      reused: col((_, r) => r.reused),
      lastError: col((_, r) => r.lastError),
      rank: coord((c) => c.rank),
      ranks: coord((c) => c.ranks),
      shareMode: coord((c) => c.shareMode),
      kronShareSize: coord((c) => (c.shareMode === 'kron' ? c.shareSize : null)),
      gateShareSize: coord((c) => (c.shareMode === 'gate' ? c.shareSize : null)),
      peftName: coord((c) => c.peftName),
      scale: col((_, r) => trialScale(r.plan)),
      seed: coord((c) => c.seed),
      accuracy: Object.fromEntries(tasks.map((t) => [t, col((_, r) => r.result?.metrics?.[t]?.acc ?? null)])),
      footprint: Object.fromEntries(
        FOOTPRINT_FIELDS.map((f) => [f.key, col((_, r) => r.result?.counts?.[f.key] ?? null)]),
      ),
    },
  };
}

/**
 * A finished sweep's stored summary without its per-trial rows: counts, baseline and expect verdicts, as the sweep
 * list and the live events show it (a large sweep's rows are megabytes, and they are in GET results).
 */
export function summaryTotals(summary: unknown): unknown {
  if (summary === null || typeof summary !== 'object') return summary ?? null;
  const { trials: _trials, ...rest } = summary as Record<string, unknown>;
  return rest;
}

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
