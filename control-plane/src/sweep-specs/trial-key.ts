/**
 * Trial keys: the sha256 of the canonical JSON of everything that determines a trial's result. Equal keys mean a
 * finished result can be reused; resubmitting a spec gives the same keys, and changing one axis value changes only
 * the keys of the trials that value reaches.
 *
 * What enters the key (`trialKeyMaterial`):
 *
 * - always: the key format version, method, method version, seed, base model identity, task type, eval task
 *   identities (as a set: order does not matter), eval limit, sequence length;
 * - for adapter methods (not `base`): train data identity, target modules (as a set), ranks, share mode and the
 *   share size of that mode, alpha, dropout, steps or epochs, learning rate, batch size, warm-up steps.
 *
 * Identity of a reference: `builtin:` references by their string and the builtin's version
 * (proto/builtin-resources.json), hub references by their string; local files and folders by the sha256 of
 * their content (see content-hash.ts) and the `#style` suffix if any, so moving a file keeps its trials' keys and
 * editing it (or a new version of a builtin) changes them. The
 * sweep name, priority, checkpoint interval, budget, expect rules and webhooks never enter a key.
 */
import { createHash } from 'node:crypto';

import { builtinVersion } from './builtin-resources.js';
import { contentHashSync } from './content-hash.js';
import { basename, dirname } from 'node:path';
import { classifyRef, lmEvalTaskFile, normalizeRef, resolveLocalRef, splitRefFragment } from './resource-refs.js';
import type { TrialConfig } from './trial-plan.js';

/** Version of the key derivation itself; bump it when the material below changes shape (2: builtins' versions). */
export const TRIAL_KEY_VERSION = 'trial-key/2';

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
    return { kind, sha256: hashLocal(dirname(resolveLocalRef(ref, process.cwd()))), file: basename(lmEvalTaskFile(ref)!) };
  }
  if (kind === 'local') {
    const { fragment } = splitRefFragment(ref);
    return { kind, sha256: hashLocal(resolveLocalRef(ref, process.cwd())), ...(fragment !== null ? { style: fragment } : {}) };
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

/** The object whose canonical JSON is hashed into a trial's key (see the module comment for what enters it). */
export function trialKeyMaterial(config: TrialConfig, identify: (ref: string) => RefIdentity = (r) => refIdentity(r)): object {
  const t = config.training;
  const common = {
    v: TRIAL_KEY_VERSION,
    method: config.method,
    methodVersion: config.methodVersion,
    seed: config.seed,
    baseModel: identify(config.baseModel),
    taskType: config.taskType,
    evalTasks: sortedByJson(config.evalTasks.map(identify)),
    evalLimit: t.evalLimit,
    seqLen: t.seqLen,
  };
  if (config.method === 'base') return common;
  return {
    ...common,
    trainData: identify(config.trainData),
    targetModules: [...new Set(config.targetModules)].sort(),
    ranks: config.ranks,
    rank: config.rank,
    shareMode: config.shareMode,
    shareSize: config.shareMode === 'kron' ? config.kronShareSize : config.shareMode === 'gate' ? config.gateShareSize : null,
    loraAlpha: config.loraAlpha,
    loraDropout: config.loraDropout,
    training: t.epochs !== null ? { epochs: t.epochs } : { steps: t.steps },
    learningRate: t.learningRate,
    batchSize: t.batchSize,
    warmupSteps: t.warmupSteps,
  };
}

/** The trial key: sha256 hex of the canonical JSON of {@link trialKeyMaterial}. */
export function computeTrialKey(config: TrialConfig, identify?: (ref: string) => RefIdentity): string {
  return createHash('sha256').update(canonicalJson(trialKeyMaterial(config, identify))).digest('hex');
}
