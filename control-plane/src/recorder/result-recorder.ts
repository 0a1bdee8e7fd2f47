/**
 * Writes each finished trial to the store as soon as it finishes, and closes sweeps when their flow completes.
 *
 * Two paths, both idempotent: QueueEvents report a trial the moment its eval job completes (fast path), and the
 * sweep job, processed once every child is done, re-records all children values (the path that cannot miss, since
 * BullMQ events are fire-and-forget). A reconciler at start-up re-queues trials whose jobs vanished.
 */
import { FlowProducer, type Job, QueueEvents, Worker } from 'bullmq';
import { recordRungTraining, startRungWorker, storedSearchPlan } from '../search/search-rungs.js';
import type { Store } from '../store/store.js';
import {
  EVAL_QUEUE,
  SWEEP_QUEUE,
  TRAIN_QUEUE,
  type EvalJobResult,
  type QueueContext,
  type TrainJobResult,
  type SweepJobData,
} from '../queue/queues.js';
import { parseTrialJobId } from '../queue/job-ids.js';
import { isUnfinished } from '../store/statuses.js';
import { summarizeSweep } from './summarize-sweep.js';
import { expectVerdictsOf } from './expect-verdicts.js';
import { itemsOfRows, recordItemCorrectness, type TaskItems } from '../store/item-correctness.js';
import type { SweepSpec } from '../sweep-specs/index.js';

export interface RecorderHooks {
  /** Called after every store change that a watcher would want to see (trial progress, result, sweep end). */
  onChange?: (sweepId: string, kind: string, payload: unknown) => void;
  /** Called once a sweep has been closed in the store (sends its `notify` webhooks). */
  onSweepEnded?: (sweepId: string) => Promise<void> | void;
}

export function recordEvalResult(store: Store, sweepId: string, r: EvalJobResult): void {
  if (!r.train) {
    store.setTrialStatus(r.trialKey, 'failed', r.error ?? 'training failed');
    return;
  }
  // One commit for the row and its log entry (better-sqlite3 nests this as a savepoint inside a caller's transaction).
  store.inTransaction(() => recordAndLog(store, sweepId, r, r.train!));
}

function recordAndLog(
  store: Store,
  sweepId: string,
  r: EvalJobResult,
  train: NonNullable<EvalJobResult['train']>,
): void {
  const inserted = store.recordResult(r.trialKey, {
    counts: train.counts,
    initialLoss: train.initialLoss,
    finalLoss: train.finalLoss,
    train: train as unknown as Record<string, unknown>,
    metrics: r.metrics,
    adapterSha256: train.adapterSha256 || null,
  });
  // Every recording, counted where it happens: the results table keeps one row per trial whatever arrives, so only
  // this log shows a trial recorded twice (a second finished training, a duplicate delivery).
  store.addEvent(sweepId, r.trialKey, 'result-recorded', {
    inserted,
    adapterSha256: train.adapterSha256,
    workerAddress: train.workerAddress,
    resumedFromStep: train.resumedFromStep,
  });
  recordItemCorrectness(store.db, r.trialKey, itemsOfResult(r));
  // A trial with a validation split also reports its validation loss at its last step: that is its last rung's
  // result, so a search's final rung (and a later search of the same trial) has it.
  if (train.validationLoss !== undefined && train.validationLoss !== null) {
    store.recordRungResult({
      trialKey: r.trialKey,
      steps: train.steps,
      validationLoss: train.validationLoss,
      validationExamples: train.validationExamples ?? 0,
      stepsTrained: Math.max(0, train.steps - train.resumedFromStep),
      trainSeconds: train.wallSeconds,
      adapterSha256: train.adapterSha256 || null,
    });
  }
}

/** The item bits of an eval result, by task (tasks whose bit count does not match their item count are left out). */
function itemsOfResult(r: EvalJobResult): Record<string, TaskItems> {
  const out: Record<string, TaskItems> = {};
  for (const [task, b64] of Object.entries(r.itemCorrect ?? {})) {
    const n = r.metrics?.[task]?.n;
    const bits = new Uint8Array(Buffer.from(b64, 'base64'));
    if (n !== undefined && n > 0 && bits.length === Math.ceil(n / 8)) out[task] = { n, bits };
  }
  return out;
}

/** Closes a sweep in the store: its summary with the `expect` verdicts, and its final status (null: left as is). */
export function finishSweep(store: Store, sweepId: string): string | null {
  const sweep = store.getSweep(sweepId);
  if (!sweep || sweep.status === 'cancelled') return null;
  // A search's stopped trials are finished in this sweep, whatever another sweep does with the same trial, and stay
  // out of its summary: its front is the configurations the search carried to the end.
  const stopped = new Set(
    store
      .searchTrials(sweepId)
      .filter((t) => t.stopped)
      .map((t) => t.trialKey),
  );
  const all = store.trialsOfSweep(sweepId);
  const rows = all.filter((r) => !stopped.has(r.trialKey));
  // A repaired sweep has several flows; only the last one to finish closes the sweep.
  if (rows.some((r) => isUnfinished(r.status))) return null;
  const summary = {
    ...summarizeSweep(rows),
    ...expectVerdictsOf(sweep.spec as SweepSpec, rows, itemsOfRows(store.db, rows)),
  };
  const failed = all.filter((r) => (stopped.has(r.trialKey) ? r.status === 'failed' : r.status !== 'completed'));
  const status = failed.length === 0 ? 'completed' : 'completed_with_failures';
  store.setSweepStatus(sweepId, status, summary);
  store.addEvent(sweepId, null, 'sweep-finished', { status, expectPassed: summary.expectPassed });
  return status;
}

export interface ResultRecorder {
  close(): Promise<void>;
}

export async function startResultRecorder(
  ctx: QueueContext,
  store: Store,
  hooks: RecorderHooks = {},
): Promise<ResultRecorder> {
  const base = { connection: ctx.connection, prefix: ctx.prefix };
  const evalEvents = new QueueEvents(EVAL_QUEUE, base);
  const trainEvents = new QueueEvents(TRAIN_QUEUE, base);
  await Promise.all([evalEvents.waitUntilReady(), trainEvents.waitUntilReady()]);
  // While Redis restarts these reconnect by themselves; the errors are expected and must not crash the process.
  for (const events of [evalEvents, trainEvents]) events.on('error', () => {});

  evalEvents.on('completed', ({ jobId, returnvalue }) => {
    const job = parseTrialJobId(jobId);
    if (!job) return;
    const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as EvalJobResult;
    try {
      recordEvalResult(store, job.sweepId, r);
    } catch (err) {
      // A throw here would end QueueEvents' reading loop without a word, and every later trial would stay running.
      // The sweep job records this trial again when the flow ends; meanwhile the sweep's log says what went wrong.
      store.addEvent(job.sweepId, r.trialKey, 'record-failed', { message: (err as Error).message });
      return;
    }
    hooks.onChange?.(job.sweepId, 'trial-finished', { trialKey: r.trialKey });
  });
  // A search's rung training, the moment it finishes (the rung's parent job records it again, idempotently).
  trainEvents.on('completed', ({ jobId, returnvalue }) => {
    const job = parseTrialJobId(jobId);
    if (!job || job.rung === null) return;
    const steps = storedSearchPlan(store, job.sweepId)?.plan.rungSteps[job.rung];
    if (steps === undefined) return;
    const r = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as TrainJobResult;
    recordRungTraining(store, job.sweepId, steps, r);
    // Still in the search (not finished): the dashboard refreshes its search card on this.
    hooks.onChange?.(job.sweepId, 'trial-running', { trialKey: r.trialKey });
  });
  const runningSweeps = new Set<string>();
  for (const events of [trainEvents, evalEvents]) {
    events.on('active', ({ jobId }) => {
      const job = parseTrialJobId(jobId);
      if (!job) return;
      store.setTrialStatus(job.trialKey, 'running');
      // Once per sweep, not once per job: the first job to start makes the sweep running; later writes change nothing.
      if (!runningSweeps.has(job.sweepId)) {
        store.setSweepStatus(job.sweepId, 'running');
        runningSweeps.add(job.sweepId);
      }
      hooks.onChange?.(job.sweepId, 'trial-running', { trialKey: job.trialKey });
    });
    events.on('progress', ({ jobId, data }) => {
      const job = parseTrialJobId(jobId);
      if (job) hooks.onChange?.(job.sweepId, 'trial-progress', { trialKey: job.trialKey, progress: data });
    });
    events.on('failed', ({ jobId, failedReason }) => {
      // Record every failure's message; the trial is failed for good only when its eval job reports it.
      const job = parseTrialJobId(jobId);
      if (job) store.addEvent(job.sweepId, job.trialKey, 'attempt-failed', { failedReason });
    });
  }

  // The sweep job runs when all its trials are done: record every child (idempotent), then close the sweep.
  const sweeps = new Worker(
    SWEEP_QUEUE,
    async (job: Job<SweepJobData>) => {
      const values = await job.getChildrenValues<EvalJobResult>();
      // Only the trials the fast path missed, in one transaction: a trial with a result is already completed, and
      // a commit per trial would hold the event loop for as long as a large sweep has trials.
      const children = Object.values(values);
      const recorded = store.finishedTrialKeys(children.map((r) => r.trialKey));
      store.inTransaction(() => {
        for (const r of children) if (!recorded.has(r.trialKey)) recordEvalResult(store, job.data.sweepId, r);
      });
      const failures = await job.getIgnoredChildrenFailures();
      for (const [key, reason] of Object.entries(failures)) {
        const failed = parseTrialJobId(key);
        if (failed) store.setTrialStatus(failed.trialKey, 'failed', reason);
      }
      const ended = finishSweep(store, job.data.sweepId);
      runningSweeps.delete(job.data.sweepId);
      hooks.onChange?.(job.data.sweepId, 'sweep-finished', {});
      if (ended) await hooks.onSweepEnded?.(job.data.sweepId);
      return { sweepId: job.data.sweepId };
    },
    { ...base, concurrency: 4 },
  );
  // A search's rungs: each rung's parent job, run when the rung's trainings are done, queues the next rung.
  const flows = new FlowProducer(base);
  flows.on('error', () => {});
  const rungs = startRungWorker({ store, flows, ctx, onChange: hooks.onChange });
  rungs.on('error', () => {});

  return {
    async close() {
      await Promise.all([sweeps.close(), rungs.close(), evalEvents.close(), trainEvents.close()]);
      await flows.close();
    },
  };
}
