/**
 * The consumers of one worker: a BullMQ `Worker` for train jobs and one for eval jobs, each with concurrency 1
 * (a worker trains one trial at a time). Cancellation of a sweep arrives on a Redis channel and aborts the running
 * gRPC call of that sweep's job, whichever host runs it.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { hostname } from 'node:os';
import { newRedisClient } from '../redis/redis-connection.js';
import type { ArtifactStore } from '../queue/artifacts.js';
import { processEval } from '../queue/process-eval.js';
import { processTrain } from '../queue/process-train.js';
import {
  ABORT_SHUTDOWN,
  ABORT_SWEEP_CANCELLED,
  EVAL_QUEUE,
  TRAIN_QUEUE,
  cancelledSweepKey,
  type QueueContext,
  type TrainJobData,
} from '../queue/queues.js';
import type { WorkerClient } from '../worker-process/worker-client.js';

export interface TrialConsumers {
  close(): Promise<void>;
}

export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel-sweep`;
}

export async function startTrialConsumers(
  ctx: QueueContext,
  client: WorkerClient,
  artifacts: ArtifactStore,
  opts: { onError?: (err: Error) => void } = {},
): Promise<TrialConsumers> {
  const common = {
    connection: ctx.connection,
    prefix: ctx.prefix,
    // Stored on each job it takes (`processedBy`): which host, agent and worker ran a job, for operators and for
    // test/bench/scale-run.ts, which times each consumer's jobs from Redis.
    name: `${hostname()}:${process.pid}:${client.address}`,
    concurrency: 1,
    // Trainings are long; the lock is renewed every lockDuration/2 while the processor awaits gRPC. A consumer
    // that dies holds its job until the lock lapses and the stalled check returns it to the queue; tests shorten
    // both through the environment.
    lockDuration: Number(process.env.BSLORA_LOCK_DURATION_MS ?? 60_000),
    stalledInterval: Number(process.env.BSLORA_STALLED_INTERVAL_MS ?? 30_000),
    maxStalledCount: 2,
  };
  const redis = newRedisClient(ctx.connection, { maxRetriesPerRequest: null });
  redis.on('error', (err) => opts.onError?.(err));
  // A cancelled sweep's jobs are refused before they reach a worker, on every host.
  const refuseIfCancelled = async (job: Job<TrainJobData>) => {
    if (await redis.exists(cancelledSweepKey(ctx.prefix, job.data.sweepId))) {
      throw new UnrecoverableError(`sweep ${job.data.sweepId} was cancelled`);
    }
  };
  const trains = new Worker(
    TRAIN_QUEUE,
    async (job: Job, token, signal) => {
      await refuseIfCancelled(job);
      return processTrain(job, client, artifacts, signal, token);
    },
    common,
  );
  const evals = new Worker(
    EVAL_QUEUE,
    async (job: Job, token, signal) => {
      await refuseIfCancelled(job);
      return processEval(job, client, artifacts, signal, token);
    },
    common,
  );
  for (const w of [trains, evals]) w.on('error', (err) => opts.onError?.(err));

  const sub = newRedisClient(ctx.connection, { maxRetriesPerRequest: null });
  sub.on('error', (err) => opts.onError?.(err));
  await sub.subscribe(cancelChannel(ctx.prefix));
  const runningJobs = new Map<Worker, Map<string, unknown>>([
    [trains, new Map()],
    [evals, new Map()],
  ]);
  for (const w of [trains, evals]) {
    w.on('active', (job) => runningJobs.get(w)!.set(job.id!, job.data));
    w.on('completed', (job) => runningJobs.get(w)!.delete(job.id!));
    w.on('failed', (job) => job && runningJobs.get(w)!.delete(job.id!));
  }

  sub.on('message', (_channel, sweepId: string) => {
    // Abort every running job of this sweep on these consumers (at most one each: concurrency 1).
    for (const [w, running] of runningJobs) {
      for (const [jobId, data] of running) {
        if ((data as TrainJobData).sweepId === sweepId) w.cancelJob(jobId, ABORT_SWEEP_CANCELLED);
      }
    }
  });

  return {
    async close() {
      sub.disconnect();
      // Abort running calls (their jobs go back to the queue untouched) rather than wait for a long training.
      for (const w of [trains, evals]) w.cancelAllJobs(ABORT_SHUTDOWN);
      await Promise.all([trains.close(), evals.close()]);
      redis.disconnect();
    },
  };
}
