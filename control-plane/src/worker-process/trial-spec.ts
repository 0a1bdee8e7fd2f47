/** Maps a planned trial to the proto `TrialSpec` the worker receives (null → proto's 0/"" meaning unset). */
import type { TrialPlan } from '../sweep-specs/index.js';
import type { TrialSpec } from '../gen/bslora_api/worker/v1/worker_service.js';

export function toTrialSpec(plan: TrialPlan): TrialSpec {
  return {
    trialKey: plan.trialKey,
    name: plan.name,
    method: plan.method,
    ranks: plan.ranks ?? undefined,
    rank: plan.rank ?? 0,
    shareMode: plan.shareMode ?? '',
    kronShareSize: plan.kronShareSize ?? 0,
    gateShareSize: plan.gateShareSize ?? 0,
    loraAlpha: plan.loraAlpha ?? 0,
    loraDropout: plan.loraDropout,
    baseModel: plan.baseModel,
    taskType: plan.taskType,
    trainData: plan.trainData,
    evalTasks: plan.evalTasks,
    targetModules: plan.targetModules,
    training: {
      steps: plan.training.steps,
      learningRate: plan.training.learningRate,
      batchSize: plan.training.batchSize,
      seqLen: plan.training.seqLen,
      evalLimit: plan.training.evalLimit ?? 0,
      checkpointEvery: plan.training.checkpointEvery ?? 0,
      warmupSteps: plan.training.warmupSteps ?? 0,
      epochs: plan.training.epochs ?? 0,
    },
    seed: plan.seed,
    methodVersion: plan.methodVersion,
  };
}
