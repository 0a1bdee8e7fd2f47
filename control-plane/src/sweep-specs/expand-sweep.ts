/** Expanding a validated sweep spec into trial plans with their keys. */
import { ControlPlaneError, type SpecIssue } from '../errors.js';
import { formatPath } from './spec-issues.js';
import type { SweepSpec } from './sweep-spec.js';
import { refIdentity, computeTrialKey, type RefIdentity } from './trial-key.js';
import { enumerateTrialConfigs, type TrialPlan } from './trial-plan.js';

/**
 * Expands a validated spec (from `parseSweepSpec` or `loadSweepSpecFile`) into its trials, in a deterministic
 * order (see trial-plan.ts), each with its trial key. Local files are hashed here when `loadSweepSpecFile` has not
 * already done it.
 *
 * @throws ControlPlaneError `CP_ERR_SPEC_INVALID` when a local file named by the spec can no longer be read.
 * @example
 * const trials = expandSweep(await loadSweepSpecFile('jobs/quickstart.yaml'));
 * trials.map((t) => t.name); // ['lora-r8-s0', 'bslora-slice-2/2/4-s0']
 */
export function expandSweep(spec: SweepSpec): TrialPlan[] {
  const identities = new Map<string, RefIdentity>();
  const issues: SpecIssue[] = [];
  const refs: [string, string][] = [
    ['base_model', spec.base_model],
    ['train_data', spec.train_data],
    ...spec.eval_tasks.map((ref, i): [string, string] => [formatPath(['eval_tasks', i]), ref]),
  ];
  for (const [path, ref] of refs) {
    if (identities.has(ref)) continue;
    try {
      identities.set(ref, refIdentity(ref));
    } catch (err) {
      issues.push({ path, message: `cannot read local path "${ref}": ${(err as Error).message}` });
    }
  }
  if (issues.length > 0) {
    throw new ControlPlaneError('CP_ERR_SPEC_INVALID', `sweep spec ${spec.name} refers to unreadable files`, { issues });
  }
  const identify = (ref: string): RefIdentity => identities.get(ref) ?? refIdentity(ref);
  return enumerateTrialConfigs(spec).map((c) => ({
    trialKey: computeTrialKey(c, identify),
    name: c.name,
    method: c.method,
    ranks: c.ranks,
    rank: c.rank,
    shareMode: c.shareMode,
    kronShareSize: c.kronShareSize,
    gateShareSize: c.gateShareSize,
    loraAlpha: c.loraAlpha,
    loraDropout: c.loraDropout,
    baseModel: c.baseModel,
    taskType: c.taskType,
    trainData: c.trainData,
    evalTasks: c.evalTasks,
    targetModules: c.targetModules,
    training: c.training,
    seed: c.seed,
    methodVersion: c.methodVersion,
  }));
}
