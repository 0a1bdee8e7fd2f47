/**
 * The BullMQ job ids of a sweep's flow, built and read only here. A trial's two jobs are
 * `<sweepId>.<train|eval>.<trialKey>`: the id names the sweep and the trial, so the recorder can tell from a queue
 * event alone which trial moved, and a resubmitted trial in another sweep never collides with this one. BullMQ
 * forbids ':' in custom ids; the keys of `getIgnoredChildrenFailures` put `<prefix>:<queue>:` before the id.
 */
import { EVAL_QUEUE, TRAIN_QUEUE } from './queues.js';

/** The queue a trial job runs on: training, then evaluation of what it trained. */
export type TrialJobKind = typeof TRAIN_QUEUE | typeof EVAL_QUEUE;

export interface TrialJobId {
  sweepId: string;
  kind: TrialJobKind;
  trialKey: string;
  /** The rung of a search's rung training (`<sweepId>.rung<k>.train.<trialKey>`); null for a trial's own jobs. */
  rung: number | null;
}

const TRIAL_JOB_ID = new RegExp(`^(.+?)(?:\\.rung(\\d+))?\\.(${TRAIN_QUEUE}|${EVAL_QUEUE})\\.([^.:]+)$`);

/** The id of one trial's train or eval job in a sweep. */
export function trialJobId(sweepId: string, kind: TrialJobKind, trialKey: string): string {
  return `${sweepId}.${kind}.${trialKey}`;
}

/**
 * The sweep, kind and trial of a trial job's id, also when it comes as a failure key (`<prefix>:<queue>:<id>`);
 * null for any other id (a sweep or gate job).
 */
export function parseTrialJobId(id: string): TrialJobId | null {
  const m = TRIAL_JOB_ID.exec(id.slice(id.lastIndexOf(':') + 1));
  return m
    ? { sweepId: m[1]!, kind: m[3] as TrialJobKind, trialKey: m[4]!, rung: m[2] === undefined ? null : Number(m[2]) }
    : null;
}

/** The train job of one trial at one rung of a search: it stops at the rung's step count. */
export function rungTrainJobId(sweepId: string, rung: number, trialKey: string): string {
  return `${sweepId}.rung${rung}.${TRAIN_QUEUE}.${trialKey}`;
}

/** The parent job of a search's rung: it runs once every training of the rung is done, and advances the search. */
export function rungJobId(sweepId: string, rung: number): string {
  return `${sweepId}.rung${rung}`;
}

/** The sweep job of a sweep's first flow: the sweep id is unique, so a retained job with this id is this sweep's. */
export function sweepJobId(sweepId: string): string {
  return `sweep.${sweepId}`;
}

/** The sweep job of a repair flow: fresh per repair, so an earlier, retained sweep job cannot swallow it. */
export function repairSweepJobId(sweepId: string, at: number): string {
  return `sweep.${sweepId}.repair-${at}`;
}

/** The gate job that holds a part-wise enqueued sweep's job until every part is in (see addSweepFlow). */
export function sweepGateJobId(sweepId: string): string {
  return `${sweepId}.gate`;
}
