/**
 * Sweep specs: the YAML/JSON format of docs/sweep-spec.md, its validation, its expansion into trials (the proto
 * `Trial`), and trial keys.
 *
 * @module
 * @example
 * ```ts
 * import { loadSweepSpecFile, expandSweep } from './sweep-specs/index.js';
 *
 * const spec = await loadSweepSpecFile('jobs/quickstart.yaml'); // throws CP_ERR_SPEC_INVALID with every issue
 * for (const trial of expandSweep(spec)) console.log(trial.trialKey.slice(0, 12), trial.name);
 * ```
 */
export {
  sweepSpecSchema,
  sweepSpecObjectSchema,
  type SweepSpec,
  type SweepSpecInput,
  EXPECT_METRICS,
  NOTIFY_EVENTS,
} from './sweep-spec.js';
export { parseSweepSpec, type ParseSweepSpecOptions } from './parse-sweep-spec.js';
export { loadSweepSpecFile } from './load-sweep-spec-file.js';
export { expandSweep } from './expand-sweep.js';
export { enumerateTrials } from './trial-plan.js';
export { METHOD_VERSIONS, TRIAL_DEFAULTS, type TrialDefaults } from './trial-defaults.js';
export {
  METHODS,
  SHARE_MODES,
  TASK_TYPES,
  methodEnum,
  taskTypeName,
  taskTypeOf,
  type MethodName,
  type ShareModeName,
  type TaskTypeName,
} from './trial-enums.js';
export { trialCoordinates, type TrialCoordinates } from './trial-coordinates.js';
export { Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
export {
  canonicalJson,
  computeTrialKey,
  trialKeyMaterial,
  refIdentity,
  TRIAL_KEY_VERSION,
  type RefIdentity,
} from './trial-key.js';
export { expandRank, expandRankGrid, type RankTriple, type RankExpansion } from './rank-expansion.js';
export {
  parseTrialSelector,
  parseExpectTarget,
  matchesSelector,
  type TrialSelector,
  type ExpectTarget,
  type SelectableTrial,
} from './expect-rules.js';
export {
  evaluateExpectRules,
  type ExpectTrialResult,
  type ExpectVerdict,
  type EvaluateExpectOptions,
} from './evaluate-expect-rules.js';
export { classifyRef, normalizeRef, type RefKind } from './resource-refs.js';
export { contentHash, contentHashSync } from './content-hash.js';
export { formatPath } from './spec-issues.js';
