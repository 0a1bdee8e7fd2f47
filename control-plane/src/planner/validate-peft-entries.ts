/**
 * Validates a spec's `grid.peft` entries with a worker's installed PEFT before anything is queued: each entry's
 * trial goes to `CountParameters`, which builds the config, wraps the base model on the meta device and returns the
 * canonical config and PEFT's version. An entry PEFT refuses is reported with PEFT's message at its path in the spec
 * (`grid.peft[1].peft`); every entry is tried, so one submit names every bad entry.
 */
import { ControlPlaneError, type SpecIssue } from '../errors.js';
import type { CountParametersResponse, Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { isGrpcServiceError, isPermanentGrpcError } from '../worker-process/grpc-errors.js';
import { formatPath } from '../sweep-specs/spec-issues.js';
import type { SweepSpec } from '../sweep-specs/sweep-spec.js';
import { enumerateTrials, type PeftCanonical } from '../sweep-specs/trial-plan.js';

/** Sends one trial to a worker's CountParameters. */
export type AdapterValidator = (trial: Trial) => Promise<CountParametersResponse>;

/** Whether submitting the spec needs a worker to validate `grid.peft` entries. */
export function hasPeftEntries(spec: SweepSpec): boolean {
  return (spec.grid.peft?.length ?? 0) > 0;
}

/**
 * The canonical config of every `grid.peft` entry, by name.
 *
 * @throws ControlPlaneError `CP_ERR_SPEC_INVALID` naming each entry PEFT refused, with PEFT's message.
 */
export async function validatePeftEntries(
  spec: SweepSpec,
  validate: AdapterValidator,
): Promise<Map<string, PeftCanonical>> {
  const out = new Map<string, PeftCanonical>();
  const issues: SpecIssue[] = [];
  const trials = enumerateTrials(spec).filter((t) => t.method?.$case === 'peft');
  const entries = spec.grid.peft ?? [];
  for (const [i, entry] of entries.entries()) {
    const trial = trials.find((t) => t.method?.$case === 'peft' && t.method.value.name === entry.name);
    if (!trial) continue; // method peft not in grid.method: the spec check has reported it
    try {
      const res = await validate({ ...trial, trialKey: 'validation' });
      out.set(entry.name, { configJson: res.canonicalConfigJson, peftVersion: res.peftVersion });
    } catch (err) {
      if (!isPermanentGrpcError(err)) throw err;
      const detail = isGrpcServiceError(err) ? err.details : String(err);
      issues.push({
        path: formatPath(['grid', 'peft', i, 'peft']),
        message: `PEFT refuses entry "${entry.name}": ${detail}`,
      });
    }
  }
  if (issues.length > 0) {
    throw new ControlPlaneError(
      'CP_ERR_SPEC_INVALID',
      `sweep spec ${spec.name}: ${issues.length} grid.peft entries are invalid`,
      {
        issues,
      },
    );
  }
  return out;
}
