/**
 * Runs one train job on a worker: `Train` over gRPC, progress into `job.updateProgress`, adapter into artifacts/.
 * Only awaits I/O, so BullMQ's lock renewal keeps running during long trainings.
 */
import { flatCounts } from '../recorder/serving-footprint.js';
import { UnrecoverableError, type Job } from 'bullmq';
import { isControlPlaneError } from '../errors.js';
import type { WorkerClient } from '../worker-process/worker-client.js';
import { isPermanentGrpcError } from '../worker-process/grpc-errors.js';
import { abortOutcome } from './abort-outcome.js';
import type { ArtifactStore } from './artifacts.js';
import type { TrainJobData, TrainJobResult } from './queues.js';

export interface TrialProgress {
  phase: 'train' | 'eval';
  step: number;
  totalSteps: number;
  loss: number | null;
  etaSeconds: number | null;
}

export async function processTrain(
  job: Job<TrainJobData, TrainJobResult>,
  client: WorkerClient,
  artifacts: ArtifactStore,
  signal?: AbortSignal,
  token?: string,
): Promise<TrainJobResult> {
  let lastReport = 0;
  try {
    const { result, adapter } = await client.train(job.data.plan, {
      signal,
      onProgress: (p) => {
        // Throttle Redis writes: at most ~4 per second, plus the last step.
        const t = Date.now();
        if (t - lastReport < 250 && p.step !== p.totalSteps) return;
        lastReport = t;
        const progress: TrialProgress = {
          phase: 'train',
          step: p.step,
          totalSteps: p.totalSteps,
          loss: p.loss,
          etaSeconds: p.etaSeconds,
        };
        void job.updateProgress(progress as unknown as object).catch(() => {});
      },
    });
    if (adapter.length) await artifacts.put(adapter);
    return {
      trialKey: result.trialKey,
      counts: result.counts ? flatCounts(result.counts) : {},
      initialLoss: Number.isFinite(result.initialLoss) ? result.initialLoss : null,
      finalLoss: Number.isFinite(result.finalLoss) ? result.finalLoss : null,
      steps: result.steps,
      wallSeconds: result.wallSeconds,
      peakMemoryBytes: result.peakMemoryBytes,
      versions: result.versions,
      device: result.device,
      seed: result.seed,
      adapterSha256: result.adapterSha256,
      adapterSize: result.adapterSize,
      resumedFromStep: result.resumedFromStep,
      workerAddress: client.address,
      validationLoss:
        result.validationLoss !== undefined && Number.isFinite(result.validationLoss) ? result.validationLoss : null,
      validationExamples: result.validationExamples,
    };
  } catch (err) {
    if (signal?.aborted) throw await abortOutcome(job, token, signal);
    // Training again would make the same adapter, just as large: fail the trial with the cap and the way out.
    if (isControlPlaneError(err) && err.code === 'CP_ERR_ARTIFACT_TOO_LARGE')
      throw new UnrecoverableError(err.message);
    if (isPermanentGrpcError(err)) {
      throw new UnrecoverableError(`worker refused trial ${job.data.plan.name}: ${(err as Error).message}`);
    }
    throw err;
  }
}
