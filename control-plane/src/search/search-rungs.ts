/**
 * Runs a successive-halving search through BullMQ: each rung is one flow, a `rung` parent job (SEARCH_RUNG_QUEUE)
 * waiting on one train job per trial still in the search, each stopping at the rung's step count
 * (`training.stop_after_steps`; the worker keeps a checkpoint there, and the next rung continues from it, so no step
 * runs twice). When a rung's trainings are done, its parent job records their rung results, keeps the best 1/η of
 * each budget bucket (rungs.ts), marks the rest stopped and queues the next rung. The last rung is the sweep's own
 * flow (sweep ← eval ← train, submit-sweep.ts) for the configurations left: they train to max_steps, are evaluated
 * on the eval tasks, recorded like any trial, and close the sweep.
 *
 * Everything is keyed so that a repeated delivery changes nothing: rung results by trial key and step count, the
 * advance of a rung by the rung the store says the search is at, job ids by sweep, rung and trial key.
 */
import { type FlowJob, type FlowProducer, type Job, Queue, Worker } from 'bullmq';
import { addSweepFlow } from '../planner/submit-sweep.js';
import { parseTrialJobId, rungJobId, rungTrainJobId, sweepJobId } from '../queue/job-ids.js';
import {
  TRAIN_QUEUE,
  TRIAL_JOB_OPTIONS,
  SWEEP_QUEUE,
  type QueueContext,
  type TrainJobResult,
} from '../queue/queues.js';
import type { Store } from '../store/store.js';
import type { Trial } from '../sweep-specs/index.js';
import { selectSurvivors, type RungCandidate } from './rungs.js';
import type { SearchPlan } from './search-plan.js';

export const SEARCH_RUNG_QUEUE = 'search-rung';

export interface RungJobData {
  sweepId: string;
  rung: number;
}

/** The plan of a searched sweep, as the store keeps it. */
export function storedSearchPlan(store: Store, sweepId: string): { plan: SearchPlan; rung: number } | undefined {
  const s = store.searchOf(sweepId);
  return s ? { plan: s.plan as SearchPlan, rung: s.rung } : undefined;
}

/** A trial's plan for one rung: the same trial (same key, same schedule), stopping at the rung's steps. */
export function rungPlan(plan: Trial, stopAfterSteps: number): Trial {
  return { ...plan, training: plan.training ? { ...plan.training, stopAfterSteps } : plan.training };
}

/**
 * Queues rung `rung` of a sweep's search: the trials the search holds at that rung, less those whose rung result is
 * recorded already (reused, by trial key and step count). The last rung queues the sweep's own flow instead, less the
 * trials with a recorded result.
 */
export async function queueRung(
  deps: { store: Store; flows: FlowProducer; ctx: QueueContext },
  sweepId: string,
  rung: number,
): Promise<void> {
  const search = storedSearchPlan(deps.store, sweepId);
  if (!search) throw new Error(`sweep ${sweepId} has no search`);
  const { plan } = search;
  const rows = deps.store.searchTrials(sweepId).filter((t) => t.rung === rung && !t.stopped);
  const plans = new Map(deps.store.trialsOfSweep(sweepId).map((r) => [r.trialKey, r.plan]));
  const keys = rows.map((r) => r.trialKey);
  if (rung === plan.rungSteps.length - 1) {
    const finished = deps.store.finishedTrialKeys(keys);
    const toRun = keys.filter((k) => !finished.has(k)).map((k) => plans.get(k)!);
    deps.store.addEvent(sweepId, null, 'search-rung-queued', {
      rung,
      steps: plan.rungSteps[rung],
      trials: toRun.length,
      reused: keys.length - toRun.length,
      final: true,
    });
    await addSweepFlow(deps.flows, deps.ctx, sweepId, toRun);
    return;
  }
  const steps = plan.rungSteps[rung]!;
  const have = deps.store.rungResults(keys);
  const toRun = keys.filter((k) => !(have.get(k) ?? []).some((r) => r.steps === steps));
  deps.store.addEvent(sweepId, null, 'search-rung-queued', {
    rung,
    steps,
    trials: toRun.length,
    reused: keys.length - toRun.length,
    final: false,
  });
  await deps.flows.add({
    name: 'rung',
    queueName: SEARCH_RUNG_QUEUE,
    data: { sweepId, rung } satisfies RungJobData,
    opts: {
      jobId: rungJobId(sweepId, rung),
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    },
    children: toRun.map((key) => {
      const trial = plans.get(key)!;
      return {
        name: trial.name,
        queueName: TRAIN_QUEUE,
        data: { sweepId, plan: rungPlan(trial, steps) },
        opts: { ...TRIAL_JOB_OPTIONS, jobId: rungTrainJobId(sweepId, rung, key), ignoreDependencyOnFailure: true },
      } satisfies FlowJob;
    }),
  });
}

/** Records a rung training's result (once per trial key and step count). */
export function recordRungTraining(store: Store, sweepId: string, steps: number, r: TrainJobResult): void {
  const inserted = store.recordRungResult({
    trialKey: r.trialKey,
    steps,
    validationLoss: r.validationLoss ?? null,
    validationExamples: r.validationExamples ?? 0,
    stepsTrained: Math.max(0, r.steps - r.resumedFromStep),
    trainSeconds: r.wallSeconds,
    adapterSha256: r.adapterSha256 || null,
  });
  store.addEvent(sweepId, r.trialKey, 'rung-result-recorded', {
    inserted,
    steps,
    validationLoss: r.validationLoss ?? null,
    resumedFromStep: r.resumedFromStep,
  });
}

/**
 * Closes rung `rung` once its trainings are done: records them, keeps the best of each bucket, stops the rest and
 * queues the next rung. Does nothing for a cancelled or finished sweep, or a rung the search is past already.
 */
export async function closeRung(
  deps: { store: Store; flows: FlowProducer; ctx: QueueContext },
  job: Job<RungJobData>,
): Promise<void> {
  const { sweepId, rung } = job.data;
  const sweep = deps.store.getSweep(sweepId);
  const search = storedSearchPlan(deps.store, sweepId);
  if (!sweep || !search || !['queued', 'running'].includes(sweep.status)) return;
  const steps = search.plan.rungSteps[rung]!;
  const values = Object.values(await job.getChildrenValues<TrainJobResult>());
  deps.store.inTransaction(() => {
    for (const r of values) recordRungTraining(deps.store, sweepId, steps, r);
  });
  for (const [key, reason] of Object.entries(await job.getIgnoredChildrenFailures())) {
    const failed = parseTrialJobId(key);
    if (failed) {
      deps.store.setTrialStatus(failed.trialKey, 'failed', reason);
      deps.store.addEvent(sweepId, failed.trialKey, 'rung-training-failed', { rung, steps, reason });
    }
  }
  if (search.rung !== rung) {
    // A repeated delivery after the search moved on: make sure the rung it is at is queued (ids make this a no-op
    // when it is).
    if (search.rung > rung) await queueRung(deps, sweepId, search.rung);
    return;
  }
  const rows = deps.store.searchTrials(sweepId).filter((t) => t.rung === rung && !t.stopped);
  const results = deps.store.rungResults(rows.map((r) => r.trialKey));
  const position = new Map(search.plan.configs.map((c) => [c.config, c.position]));
  const byConfig = new Map<string, { bucket: number; losses: (number | null)[]; keys: string[] }>();
  for (const row of rows) {
    const loss = (results.get(row.trialKey) ?? []).find((r) => r.steps === steps)?.validationLoss ?? null;
    const entry = byConfig.get(row.config) ?? { bucket: row.bucket, losses: [], keys: [] };
    entry.losses.push(loss);
    entry.keys.push(row.trialKey);
    byConfig.set(row.config, entry);
  }
  const candidates: RungCandidate[] = [...byConfig].map(([config, e]) => ({
    config,
    bucket: e.bucket,
    position: position.get(config) ?? 0,
    validationLoss: e.losses.some((l) => l === null)
      ? null
      : (e.losses as number[]).reduce((a, b) => a + b, 0) / e.losses.length,
  }));
  const selection = selectSurvivors(candidates, search.plan.eta);
  const keysOf = (configs: string[]) => configs.flatMap((c) => byConfig.get(c)!.keys);
  const promoted = keysOf(selection.promoted);
  const stopped = keysOf(selection.stopped);
  const scored = new Set(
    rows.filter((r) => (results.get(r.trialKey) ?? []).some((x) => x.steps === steps)).map((r) => r.trialKey),
  );
  const advanced = deps.store.advanceSearch(
    sweepId,
    rung,
    { promoted, stopped, stoppedTrials: stopped.filter((k) => scored.has(k)) },
    `stopped early by successive halving at rung ${rung + 1} of ${search.plan.rungSteps.length} (step ${steps})`,
  );
  if (!advanced) return;
  deps.store.addEvent(sweepId, null, 'search-rung-finished', {
    rung,
    steps,
    promoted: selection.promoted,
    stopped: selection.stopped,
  });
  await queueRung(deps, sweepId, rung + 1);
}

/** The consumer of rung parent jobs; runs beside the recorder. */
export function startRungWorker(deps: {
  store: Store;
  flows: FlowProducer;
  ctx: QueueContext;
  onChange?: (sweepId: string, kind: string, payload: unknown) => void;
}): Worker {
  return new Worker(
    SEARCH_RUNG_QUEUE,
    async (job: Job<RungJobData>) => {
      await closeRung(deps, job);
      deps.onChange?.(job.data.sweepId, 'search-rung-finished', { rung: job.data.rung });
      return { sweepId: job.data.sweepId, rung: job.data.rung };
    },
    { connection: deps.ctx.connection, prefix: deps.ctx.prefix, concurrency: 1 },
  );
}

/** Whether the job a searched sweep waits on now (its current rung's, or the final sweep job) is in Redis. */
export async function currentRungJobExists(ctx: QueueContext, store: Store, sweepId: string): Promise<boolean> {
  const search = storedSearchPlan(store, sweepId);
  if (!search) return true;
  const final = search.rung === search.plan.rungSteps.length - 1;
  const queue = new Queue(final ? SWEEP_QUEUE : SEARCH_RUNG_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  try {
    const job = await queue.getJob(final ? sweepJobId(sweepId) : rungJobId(sweepId, search.rung));
    return job !== undefined && job !== null;
  } finally {
    await queue.close();
  }
}
