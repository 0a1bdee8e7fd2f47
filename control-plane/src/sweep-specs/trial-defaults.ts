/**
 * The defaults of trial settings and the method versions, read from proto/trial-defaults.json and
 * proto/method-versions.json: the files the worker reads too, so both sides mean the same by a setting left out.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { MethodName, ShareModeName, TaskTypeName } from './trial-enums.js';

/** proto/trial-defaults.json: keys are sweep-spec paths (`training.warmup_steps`). */
export interface TrialDefaults {
  task_type: TaskTypeName;
  /** Defaults of `TrainingSettings` fields, by their proto (= spec) names. */
  training: Record<string, unknown>;
  /** Defaults shared by the adapter methods' settings messages, by their proto (= spec) names. */
  adapter: Record<string, unknown>;
  lora: { lora_alpha_per_rank: number };
  bslora: { lora_alpha: number; kron_shared_dropout: boolean };
  grid: { share_mode: ShareModeName; vera_ranks: number; seeds: number[] };
}

function readProtoJson<T>(name: string): T {
  const json = JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../../proto/${name}`, import.meta.url)), 'utf8'),
  ) as T & {
    _comment?: string;
  };
  delete json._comment;
  return json;
}

export const TRIAL_DEFAULTS: Readonly<TrialDefaults> = readProtoJson<TrialDefaults>('trial-defaults.json');

/**
 * The version of each method's implementation; it enters every trial key, and a worker refuses a trial planned for
 * another version. Bump one in proto/method-versions.json when a change to that method changes results.
 */
export const METHOD_VERSIONS: Readonly<Record<MethodName, string>> =
  readProtoJson<Record<MethodName, string>>('method-versions.json');
