/**
 * Queue names, job payloads and the job options chosen for them (docs/decisions/0004-queue-options.md).
 *
 * A sweep is one BullMQ flow: the sweep job is the parent of one eval job per trial, and each eval job is the
 * parent of its trial's train job. Every queue of one deployment shares a key prefix, so tests run side by side
 * on one Redis with a unique prefix each.
 */
import type { ConnectionOptions, DefaultJobOptions } from 'bullmq';
import { connectionFromUrl, keyPrefixFor } from '../redis/redis-connection.js';
import type { Trial } from '../sweep-specs/index.js';

export { connectionFromUrl };

export const TRAIN_QUEUE = 'train';
export const EVAL_QUEUE = 'eval';
export const SWEEP_QUEUE = 'sweep';

export interface QueueContext {
  /** Plain options for one Redis, a shared ioredis Cluster for a cluster (redis/redis-connection.ts). */
  connection: ConnectionOptions;
  /** Key prefix of every queue (a hash tag on a cluster: `{bslora}`). @defaultValue 'bslora' */
  prefix: string;
}

/** The queue context of a deployment on the Redis `url` (one Redis or a cluster) under `prefix`. */
export function queueContextFromUrl(url: string, prefix: string): QueueContext {
  return { connection: connectionFromUrl(url), prefix: keyPrefixFor(url, prefix) };
}

export interface TrainJobData {
  sweepId: string;
  plan: Trial;
}
export type EvalJobData = TrainJobData;
export interface SweepJobData {
  sweepId: string;
}

/** What a train job returns (the adapter itself goes to artifacts/, by sha256). */
export interface TrainJobResult {
  trialKey: string;
  counts: Record<string, number>;
  initialLoss: number | null;
  finalLoss: number | null;
  steps: number;
  wallSeconds: number;
  peakMemoryBytes: number;
  versions: Record<string, string>;
  device: string;
  seed: number;
  adapterSha256: string;
  adapterSize: number;
  resumedFromStep: number;
  workerAddress: string;
  /** Mean loss on the validation split (training.validation_holdout) after the last step; null without one. */
  validationLoss?: number | null;
  validationExamples?: number;
}

export interface EvalJobResult {
  trialKey: string;
  /** null when the trial's training failed for good: the eval job reports it instead of failing the flow. */
  train: TrainJobResult | null;
  metrics: Record<string, { acc: number; accNorm: number; n: number }> | null;
  error: string | null;
  /** Per task, which items were scored correct: packed bits (stats/item-bits.ts) in base64; absent for results
   * from before they were recorded, and for tasks whose scorer reports no items. */
  itemCorrect?: Record<string, string>;
}

/**
 * Trials retry transient failures with exponential backoff (resuming from their checkpoint); completed jobs are
 * kept for a day so the recorder can reconcile from them after a restart, failed ones for a week for inspection.
 */
export const TRIAL_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/** Abort reasons a consumer passes to a running job: a cancelled sweep ends the job; a shutdown postpones it. */
export const ABORT_SWEEP_CANCELLED = 'sweep-cancelled';
export const ABORT_SHUTDOWN = 'shutdown';

/** Redis key marking a cancelled sweep, checked by every consumer before it starts one of the sweep's jobs. */
export function cancelledSweepKey(prefix: string, sweepId: string): string {
  return `${prefix}:cancelled-sweep:${sweepId}`;
}
