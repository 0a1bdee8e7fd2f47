/**
 * Submits a sweep: validate completely, expand into trials, reuse every trial whose key already has a result,
 * record the sweep and its trials in the store, then add one BullMQ flow (sweep ← eval ← train per trial).
 * Nothing is queued or stored when validation fails.
 */
import { FlowProducer, type FlowJob } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { expandSweep, type SweepSpec, type TrialPlan } from '../sweep-specs/index.js';
import type { Store } from '../store/store.js';
import {
  EVAL_QUEUE,
  SWEEP_QUEUE,
  TRAIN_QUEUE,
  TRIAL_JOB_OPTIONS,
  type QueueContext,
} from '../queue/queues.js';

export interface SubmittedSweep {
  sweepId: string;
  trials: TrialPlan[];
  /** Keys of trials whose finished results were reused (not queued). */
  reused: string[];
}

export async function submitSweep(
  spec: SweepSpec,
  deps: { store: Store; flows: FlowProducer; ctx: QueueContext },
  opts: { sweepId?: string } = {},
): Promise<SubmittedSweep> {
  const trials = expandSweep(spec);
  const sweepId = opts.sweepId ?? `sw-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomUUID().slice(0, 8)}`;
  const reused = deps.store.finishedTrialKeys(trials.map((t) => t.trialKey));
  deps.store.createSweep({ id: sweepId, name: spec.name, spec }, trials, reused);
  deps.store.addEvent(sweepId, null, 'sweep-submitted', { trials: trials.length, reused: reused.size });

  const toRun = trials.filter((t) => !reused.has(t.trialKey));
  const flow: FlowJob = {
    name: 'sweep',
    queueName: SWEEP_QUEUE,
    // The sweep id is unique, so a retained job with this id can never swallow a new sweep.
    opts: { jobId: `sweep.${sweepId}`, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
    data: { sweepId },
    children: toRun.map((plan) => trialFlow(sweepId, plan)),
  };
  try {
    await deps.flows.add(flow);
  } catch (err) {
    // The flow did not reach Redis: take the sweep back out of the store so nothing partial remains.
    deps.store.deleteSweep(sweepId);
    throw err;
  }
  return { sweepId, trials, reused: [...reused] };
}

/** One trial's part of a sweep flow: its eval job, parent of its train job. */
export function trialFlow(sweepId: string, plan: TrialPlan): FlowJob {
  return {
    name: plan.name,
    queueName: EVAL_QUEUE,
    data: { sweepId, plan },
    opts: { ...TRIAL_JOB_OPTIONS, jobId: `${sweepId}.eval.${plan.trialKey}`, ignoreDependencyOnFailure: true },
    children: [
      {
        name: plan.name,
        queueName: TRAIN_QUEUE,
        data: { sweepId, plan },
        opts: { ...TRIAL_JOB_OPTIONS, jobId: `${sweepId}.train.${plan.trialKey}`, ignoreDependencyOnFailure: true },
      },
    ],
  };
}
