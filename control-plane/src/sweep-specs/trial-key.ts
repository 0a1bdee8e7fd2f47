/**
 * Trial keys: the sha256 of the canonical JSON of everything that determines a trial's result. Equal keys mean a
 * finished result can be reused; resubmitting a spec gives the same keys, and changing one axis value changes only
 * the keys of the trials that value reaches.
 *
 * What enters the key (`trialKeyMaterial`):
 *
 * - always: the key format version, method, method version, seed, base model identity, task type, eval task
 *   identities (as a set: order does not matter), eval limit, sequence length;
 * - for adapter methods (not `base`): train data identity, target modules (as a set), the method's settings message
 *   (ranks, share mode and its size, alpha, dropout, …) and the training settings (steps or epochs, learning rate,
 *   batch size, warm-up steps, …) as their proto JSON, so a setting added to either message enters the key without
 *   a change here. Defaults are filled in by the planner, so leaving a setting out and writing its default give one
 *   key. A `peft` trial's settings are its config as the worker's PEFT canonicalised it (every default filled in)
 *   and that PEFT's version; its entry name is left out.
 *
 * Identity of a reference: `builtin:` references by their string and the builtin's version
 * (proto/builtin-resources.json), hub references by their string; local files and folders by the sha256 of
 * their content (see content-hash.ts) and the `#style` suffix if any, so moving a file keeps its trials' keys and
 * editing it (or a new version of a builtin) changes them. The
 * sweep name, priority, checkpoint interval, budget, expect rules and webhooks never enter a key.
 *
 * Format 3 changed what a trial means (warm-up 0 is no warm-up; defaults filled in from proto/trial-defaults.json),
 * so keys of earlier formats never equal a format-3 key and their results are not reused.
 */
import { createHash } from 'node:crypto';

import { builtinVersion } from './builtin-resources.js';
import { contentHashSync } from './content-hash.js';
import { basename, dirname } from 'node:path';
import { classifyRef, lmEvalTaskFile, normalizeRef, resolveLocalRef, splitRefFragment } from './resource-refs.js';
import {
  BSLoraSettings,
  LoraSettings,
  TrainingSettings,
  VeraSettings,
  type Trial,
} from '../gen/bslora_api/worker/v1/worker_service.js';
import { taskTypeName } from './trial-enums.js';

/**
 * Version of the key derivation itself; bump it when the material below changes shape or a trial's meaning changes
 * (2: builtins' versions; 3: the proto `Trial` contract, defaults filled in, warm-up 0 means none).
 */
export const TRIAL_KEY_VERSION = 'trial-key/3';

/** How a model or data reference is identified in a trial key. */
export type RefIdentity =
  | { kind: 'builtin'; ref: string; version: string }
  | { kind: 'hub' | 'lm-eval'; ref: string }
  | { kind: 'local'; sha256: string; style?: string }
  | { kind: 'lm-eval'; sha256: string; file: string };

/**
 * JSON with object keys sorted at every level and no whitespace; `undefined` object fields are left out.
 * Throws on values JSON cannot represent exactly (non-finite numbers, functions, bigints).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a finite number`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i]);
        return `${out}]`;
      }
      const obj = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, the same order for every run and platform.
      const keys = Object.keys(obj).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const v = obj[key];
        if (v === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(v)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
  }
}

/**
 * The identity of a reference: its string (and version) for builtin refs, its string for hub refs, its content hash
 * for local paths.
 */
export function refIdentity(ref: string, hashLocal: (absPath: string) => string = contentHashSync): RefIdentity {
  const kind = classifyRef(ref);
  if (kind === 'lm-eval' && lmEvalTaskFile(ref) !== null) {
    // A local lm-eval task is its YAML and whatever its folder holds beside it (data files it names).
    return {
      kind,
      sha256: hashLocal(dirname(resolveLocalRef(ref, process.cwd()))),
      file: basename(lmEvalTaskFile(ref)!),
    };
  }
  if (kind === 'local') {
    const { fragment } = splitRefFragment(ref);
    return {
      kind,
      sha256: hashLocal(resolveLocalRef(ref, process.cwd())),
      ...(fragment !== null ? { style: fragment } : {}),
    };
  }
  if (kind === 'builtin') {
    // Specs are checked against the builtins before they are expanded, so a version is always found here.
    const version = builtinVersion(ref);
    if (version === null) throw new Error(`refIdentity: ${ref} is not a builtin (proto/builtin-resources.json)`);
    return { kind, ref, version };
  }
  return { kind, ref: normalizeRef(ref, process.cwd()) };
}

function sortedByJson<T>(values: readonly T[]): T[] {
  return [...values].sort((a, b) => {
    const x = canonicalJson(a);
    const y = canonicalJson(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The method's settings as proto JSON (what enters the key for an adapter method). */
function methodSettingsJson(method: NonNullable<Trial['method']>): unknown {
  switch (method.$case) {
    case 'bslora':
      return BSLoraSettings.toJSON(method.value);
    case 'lora':
      return LoraSettings.toJSON(method.value);
    case 'vera':
      return VeraSettings.toJSON(method.value);
    case 'base':
      return {};
    case 'peft':
      // The canonical config and PEFT's version; the entry's name is a label, not a setting.
      return { config: JSON.parse(method.value.configJson) as unknown, peftVersion: method.value.peftVersion };
  }
}

/** The object whose canonical JSON is hashed into a trial's key (see the module comment for what enters it). */
export function trialKeyMaterial(
  trial: Trial,
  identify: (ref: string) => RefIdentity = (r) => refIdentity(r),
): object {
  if (!trial.method || !trial.training)
    throw new TypeError(`trialKeyMaterial: trial ${trial.name} has no method or no training settings`);
  const t = trial.training;
  const common = {
    v: TRIAL_KEY_VERSION,
    method: trial.method.$case,
    methodVersion: trial.methodVersion,
    seed: trial.seed,
    baseModel: identify(trial.baseModel),
    taskType: taskTypeName(trial.taskType),
    evalTasks: sortedByJson(trial.evalTasks.map(identify)),
    evalLimit: t.evalLimit ?? null,
    seqLen: t.seqLen,
  };
  if (trial.method.$case === 'base') return common;
  // Not results: where checkpoints go, where a search's rung stops (a rung is recorded beside the key, and every
  // rung of one configuration continues the same trial), and what is already in `common`.
  const {
    checkpointEvery: _c,
    stopAfterSteps: _r,
    evalLimit: _e,
    seqLen: _s,
    ...trained
  } = TrainingSettings.toJSON(t) as Record<string, unknown>;
  return {
    ...common,
    trainData: identify(trial.trainData),
    targetModules: [...new Set(trial.targetModules)].sort(),
    settings: methodSettingsJson(trial.method),
    training: trained,
  };
}

/** The trial key: sha256 hex of the canonical JSON of {@link trialKeyMaterial}. */
export function computeTrialKey(trial: Trial, identify?: (ref: string) => RefIdentity): string {
  return createHash('sha256')
    .update(canonicalJson(trialKeyMaterial(trial, identify)))
    .digest('hex');
}
