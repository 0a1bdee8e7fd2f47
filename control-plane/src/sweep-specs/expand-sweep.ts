/** Expanding a validated sweep spec into its trials with their keys. */
import { ControlPlaneError, type SpecIssue } from '../errors.js';
import { formatPath } from './spec-issues.js';
import type { SweepSpec } from './sweep-spec.js';
import { refIdentity, computeTrialKey, type RefIdentity } from './trial-key.js';
import type { Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { enumerateTrials, type PeftCanonical } from './trial-plan.js';

/**
 * Expands a validated spec (from `parseSweepSpec` or `loadSweepSpecFile`) into its trials, in a deterministic
 * order (see trial-plan.ts), each with its trial key. Local files are hashed here when `loadSweepSpecFile` has not
 * already done it. `peft` holds the worker-validated config of each `grid.peft` entry (see `validatePeftEntries`);
 * without it, peft trials are keyed by their config as written.
 *
 * @throws ControlPlaneError `CP_ERR_SPEC_INVALID` when a local file named by the spec can no longer be read.
 * @example
 * const trials = expandSweep(await loadSweepSpecFile('jobs/quickstart.yaml'));
 * trials.map((t) => t.name); // ['lora-r8-s0', 'bslora-slice-2/2/4-s0']
 */
export function expandSweep(spec: SweepSpec, peft?: ReadonlyMap<string, PeftCanonical>): Trial[] {
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
    throw new ControlPlaneError('CP_ERR_SPEC_INVALID', `sweep spec ${spec.name} refers to unreadable files`, {
      issues,
    });
  }
  const identify = (ref: string): RefIdentity => identities.get(ref) ?? refIdentity(ref);
  return enumerateTrials(spec, peft).map((trial) => ({ ...trial, trialKey: computeTrialKey(trial, identify) }));
}
