/**
 * Runs one eval job: takes its train child's result, makes sure the worker holds the adapter (uploading it from
 * artifacts/ only when it does not), calls `Evaluate`, and returns metrics. A trial whose training failed for good
 * is reported here, not thrown, so one bad trial never fails its sweep.
 */
import { UnrecoverableError, type Job } from 'bullmq';
import { ControlPlaneError } from '../errors.js';
import { channelSettings } from '../grpc/channel-settings.js';
import type { WorkerClient } from '../worker-process/worker-client.js';
import { isPermanentGrpcError } from '../worker-process/grpc-errors.js';
import { abortOutcome } from './abort-outcome.js';
import type { ArtifactStore } from './artifacts.js';
import type { EvalJobData, EvalJobResult, TrainJobResult } from './queues.js';

export async function processEval(
  job: Job<EvalJobData, EvalJobResult>,
  client: WorkerClient,
  artifacts: ArtifactStore,
  signal?: AbortSignal,
  token?: string,
): Promise<EvalJobResult> {
  const trialKey = job.data.plan.trialKey;
  const values = Object.values(await job.getChildrenValues<TrainJobResult>());
  const train = values[0];
  if (!train) {
    const failures = Object.values(await job.getIgnoredChildrenFailures());
    return { trialKey, train: null, metrics: null, error: failures[0] ?? 'training produced no result' };
  }
  if (job.data.plan.evalTasks.length === 0) return { trialKey, train, metrics: null, error: null };
  try {
    if (train.adapterSha256) {
      const held = (await client.describe()).heldAdapters;
      if (!held.includes(train.adapterSha256)) {
        const adapter = await fetchVerifiedAdapter(artifacts, train.adapterSha256, job.data.plan.name);
        await client.uploadAdapter(adapter, channelSettings().adapterChunkBytes, { signal });
      }
    }
    const result = await client.evaluate(job.data.plan, train.adapterSha256, {
      signal,
      onProgress: (p) =>
        void job
          .updateProgress({
            phase: 'eval',
            step: p.done,
            totalSteps: p.total,
            loss: null,
            etaSeconds: null,
            task: p.task,
          })
          .catch(() => {}),
    });
    const metrics: EvalJobResult['metrics'] = {};
    const itemCorrect: Record<string, string> = {};
    for (const t of result.tasks) {
      metrics[t.task] = { acc: t.acc, accNorm: t.accNorm, n: t.n };
      if (t.itemCorrect.length > 0) itemCorrect[t.task] = Buffer.from(t.itemCorrect).toString('base64');
    }
    return { trialKey, train, metrics, error: null, itemCorrect };
  } catch (err) {
    if (signal?.aborted) throw await abortOutcome(job, token, signal);
    if (isPermanentGrpcError(err)) {
      throw new UnrecoverableError(`worker refused to evaluate ${job.data.plan.name}: ${(err as Error).message}`);
    }
    if (err instanceof ControlPlaneError) throw new UnrecoverableError(err.message);
    throw err;
  }
}

/**
 * The adapter's bytes, checked against its sha256. Missing or damaged is a plain (retried) error: a shared
 * filesystem may show the file late, an upload may still be landing; after the last attempt the trial fails
 * with this message. A wrong adapter is never evaluated.
 */
export async function fetchVerifiedAdapter(
  artifacts: ArtifactStore,
  sha256: string,
  trialName: string,
): Promise<Buffer> {
  let adapter: Buffer | undefined;
  try {
    adapter = await artifacts.fetch(sha256);
  } catch (err) {
    throw new Error(`adapter of trial ${trialName}: ${(err as Error).message}`, { cause: err });
  }
  if (!adapter) {
    throw new Error(
      `adapter ${sha256} of trial ${trialName} is in neither ${artifacts.where} (the Redis mirror keeps adapters ` +
        'for 7 days; agents and control plane must share one --artifacts setting): retried, then rerun the trial',
    );
  }
  return adapter;
}
