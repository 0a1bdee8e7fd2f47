/**
 * Submits a sweep: validate completely (the caller has validated `grid.peft` entries with a worker, see
 * validate-peft-entries.ts, and passes their canonical configs as `opts.peft`), expand into trials, reuse every
 * trial whose key already has a result, record the sweep and its trials in the store, then add one BullMQ flow
 * (sweep ← eval ← train per trial).
 * Nothing is queued or stored when validation fails.
 */
import { type FlowProducer, Queue, type FlowJob } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { expandSweep, type SweepSpec, type Trial } from '../sweep-specs/index.js';
import type { PeftCanonical } from '../sweep-specs/trial-plan.js';
import type { Store } from '../store/store.js';
import { EVAL_QUEUE, SWEEP_QUEUE, TRAIN_QUEUE, TRIAL_JOB_OPTIONS, type QueueContext } from '../queue/queues.js';
import { sweepGateJobId, sweepJobId, trialJobId } from '../queue/job-ids.js';
import { ControlPlaneError } from '../errors.js';
import { formatPath } from '../sweep-specs/spec-issues.js';
import { planSearch } from '../search/search-plan.js';
import { queueRung } from '../search/search-rungs.js';

export interface SubmittedSweep {
  sweepId: string;
  trials: Trial[];
  /** Keys of trials whose finished results were reused (not queued). */
  reused: string[];
}

export async function submitSweep(
  spec: SweepSpec,
  deps: { store: Store; flows: FlowProducer; ctx: QueueContext },
  opts: { sweepId?: string; peft?: ReadonlyMap<string, PeftCanonical> } = {},
): Promise<SubmittedSweep> {
  const trials = expandSweep(spec, opts.peft);
  const sweepId =
    opts.sweepId ?? `sw-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomUUID().slice(0, 8)}`;
  const reused = deps.store.finishedTrialKeys(trials.map((t) => t.trialKey));
  const search = planSearch(spec, trials);
  if (search.issues.length > 0) {
    // parseSweepSpec refuses these first; a spec built in code reaches here.
    throw new ControlPlaneError('CP_ERR_SPEC_INVALID', `sweep spec ${spec.name} is invalid`, {
      issues: search.issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
    });
  }
  deps.store.inTransaction(() => {
    deps.store.createSweep({ id: sweepId, name: spec.name, spec }, trials, reused);
    if (search.plan) {
      const byName = new Map(trials.map((t) => [t.name, t.trialKey]));
      deps.store.createSearch(
        sweepId,
        search.plan,
        search.plan.configs.flatMap((c) =>
          c.trialNames.map((name) => ({
            trialKey: byName.get(name)!,
            config: c.config,
            bucket: c.bucket,
            params: c.params,
          })),
        ),
      );
    }
  });
  deps.store.addEvent(sweepId, null, 'sweep-submitted', { trials: trials.length, reused: reused.size });

  const toRun = trials.filter((t) => !reused.has(t.trialKey));
  try {
    if (search.plan) await queueRung(deps, sweepId, 0);
    else await addSweepFlow(deps.flows, deps.ctx, sweepId, toRun);
  } catch (err) {
    // Nothing of the flow is left in Redis (addSweepFlow takes back what it added): take the sweep back out of the
    // store so nothing partial remains. When Redis could not be cleaned, the sweep stays in the store and the
    // start-up reconciler queues its missing trials.
    if (!(err instanceof PartiallyQueuedError)) deps.store.deleteSweep(sweepId);
    throw err instanceof PartiallyQueuedError ? err.cause : err;
  }
  return { sweepId, trials, reused: [...reused] };
}

/**
 * Trials per Redis transaction when a sweep is enqueued in parts. One `FlowProducer.add` is one MULTI/EXEC, so a
 * large sweep in one add holds this process's event loop while it builds the jobs and stalls every other client of
 * Redis while they run; in parts, two in flight, neither stalls for longer than one part takes, and the sweep is
 * queued no slower. The part size is small enough for short stalls and large enough that a small sweep stays one
 * atomic add (test/bench/enqueue-benchmark.ts; docs/benchmarks.md, "Control-plane scale").
 */
export const ENQUEUE_PART_TRIALS = 250;
/** A queue that no worker consumes, holding each part-wise enqueued sweep's gate job (see addSweepFlow). */
export const SWEEP_GATE_QUEUE = 'sweep-gate';

/** Some trials of a sweep reached Redis and could not be taken back; `cause` is the error that stopped the rest. */
class PartiallyQueuedError extends Error {}

/**
 * Adds the flow of a sweep: its sweep job (`sweep.<sweepId>`) as the parent of one eval ← train pair per trial.
 *
 * Up to `partTrials` trials: one `FlowProducer.add`, atomic. More: the sweep job is added first with a single
 * child, a gate job in SWEEP_GATE_QUEUE, then the trials are attached to it in parts (`opts.parent`), then the gate
 * is removed. The gate keeps the sweep job waiting for children until every part is in, so a sweep whose first
 * trials finish before its last ones are queued is not aggregated early; removing the last pending child moves
 * the sweep job to wait (BullMQ's removeParentDependencyKey), exactly as the last trial finishing would. Trials
 * start as soon as their part is in.
 *
 * If a part fails, the sweep job is removed with every trial attached so far (and the gate), and the error is
 * thrown: nothing is left in Redis. If that removal is refused (a trial already runs) or fails, the gate is removed
 * so that the sweep job aggregates what did reach Redis, and PartiallyQueuedError is thrown: the store keeps the
 * sweep, and the start-up reconciler queues its missing trials (as after a crash between store write and add).
 */
export async function addSweepFlow(
  flows: FlowProducer,
  ctx: QueueContext,
  sweepId: string,
  trials: Trial[],
  partTrials = ENQUEUE_PART_TRIALS,
): Promise<void> {
  const sweepJob = {
    name: 'sweep',
    queueName: SWEEP_QUEUE,
    opts: { jobId: sweepJobId(sweepId), removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } },
    data: { sweepId },
  } satisfies FlowJob;
  if (trials.length <= partTrials) {
    await flows.add({ ...sweepJob, children: trials.map((plan) => trialFlow(sweepId, plan)) });
    return;
  }
  const gateId = sweepGateJobId(sweepId);
  await flows.add({
    ...sweepJob,
    children: [{ name: 'gate', queueName: SWEEP_GATE_QUEUE, data: { sweepId }, opts: { jobId: gateId } }],
  });
  const parent = { id: sweepJob.opts.jobId, queue: `${ctx.prefix}:${SWEEP_QUEUE}` };
  const parts: Trial[][] = [];
  for (let i = 0; i < trials.length; i += partTrials) parts.push(trials.slice(i, i + partTrials));
  // Two parts in flight: this process builds the next part while Redis runs the previous one.
  let next = 0;
  const addParts = async () => {
    while (next < parts.length) {
      const part = parts[next++];
      try {
        await flows.addBulk(
          part.map((plan) => {
            const flow = trialFlow(sweepId, plan);
            return { ...flow, opts: { ...flow.opts, parent } };
          }),
        );
      } catch (err) {
        next = parts.length; // the other runner stops too
        throw err;
      }
    }
  };
  const failed = (await Promise.allSettled([addParts(), addParts()])).find((r) => r.status === 'rejected');
  const gates = new Queue(SWEEP_GATE_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
  try {
    if (!failed) {
      await gates.remove(gateId);
      return;
    }
    const sweeps = new Queue(SWEEP_QUEUE, { connection: ctx.connection, prefix: ctx.prefix });
    const removed = await sweeps.remove(parent.id, { removeChildren: true }).catch(() => 0);
    await sweeps.close();
    if (removed === 1) throw failed.reason;
    await gates.remove(gateId).catch(() => 0);
    throw new PartiallyQueuedError(`sweep ${sweepId} was queued in part`, { cause: failed.reason });
  } finally {
    await gates.close();
  }
}

/** One trial's part of a sweep flow: its eval job, parent of its train job. */
export function trialFlow(sweepId: string, plan: Trial): FlowJob {
  return {
    name: plan.name,
    queueName: EVAL_QUEUE,
    data: { sweepId, plan },
    opts: {
      ...TRIAL_JOB_OPTIONS,
      jobId: trialJobId(sweepId, EVAL_QUEUE, plan.trialKey),
      ignoreDependencyOnFailure: true,
    },
    children: [
      {
        name: plan.name,
        queueName: TRAIN_QUEUE,
        data: { sweepId, plan },
        opts: {
          ...TRIAL_JOB_OPTIONS,
          jobId: trialJobId(sweepId, TRAIN_QUEUE, plan.trialKey),
          ignoreDependencyOnFailure: true,
        },
      },
    ],
  };
}
