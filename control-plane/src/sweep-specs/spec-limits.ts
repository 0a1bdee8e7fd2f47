/**
 * The documented ranges of a sweep spec (docs/sweep-spec.md, "Ranges") and the server-wide caps that keep one
 * request from costing the control plane more than a bounded amount of memory and time. Numbers outside these
 * ranges are refused at submit with the field's path, before anything is queued or any worker is asked.
 */

/** Largest number of trials one sweep may expand to on this server (BSLORA_MAX_SWEEP_TRIALS overrides). */
export const DEFAULT_MAX_SWEEP_TRIALS = 10_000;

/** The server-wide trial cap: BSLORA_MAX_SWEEP_TRIALS when it is a positive integer, else the default. */
export function maxSweepTrials(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.BSLORA_MAX_SWEEP_TRIALS);
  return Number.isInteger(n) && n > 0 ? n : DEFAULT_MAX_SWEEP_TRIALS;
}

/** Ranges of the numbers in a spec (inclusive). */
export const NUMBER_RANGES = {
  steps: { min: 1, max: 1_000_000 },
  epochs: { min: 0, max: 1_000 },
  learningRate: { min: 0, max: 10 },
  batchSize: { min: 1, max: 65_536 },
  seqLen: { min: 1, max: 1_048_576 },
  warmupSteps: { min: 0, max: 1_000_000 },
  evalLimit: { min: 1, max: 10_000_000 },
  checkpointEvery: { min: 1, max: 1_000_000 },
  /** Each part of a BSLoRA triple, total_rank, LoRA and VeRA ranks. */
  rank: { min: 0, max: 65_536 },
  shareSize: { min: 1, max: 1_048_576 },
  seed: { min: 0, max: 2 ** 31 - 1 },
  loraAlpha: { min: 0, max: 1_000_000 },
  maxDeviceHours: { min: 0, max: 1_000_000 },
  validationHoldout: { min: 1, max: 1_000_000 },
  /** A successive-halving search: the kept share 1/eta, and the number of budget buckets. */
  searchEta: { min: 2, max: 100 },
  searchBuckets: { min: 1, max: 100 },
} as const;

/** Longest list any axis or list field may have. */
export const MAX_LIST_ITEMS = 1_000;
/** Longest `eval_tasks` and `target_modules` lists. */
export const MAX_TASKS = 64;
export const MAX_TARGET_MODULES = 128;
/** Most `notify` webhooks and `expect` rules per spec. */
export const MAX_NOTIFY_TARGETS = 5;
export const MAX_EXPECT_RULES = 64;

/** Lengths of string fields. */
export const STRING_LENGTHS = {
  description: 10_000,
  ref: 1_024,
  targetModule: 200,
  expectName: 200,
  selector: 200,
  methodVersion: 100,
  url: 2_048,
} as const;

/** Control characters (NUL included) are never part of a spec's strings, except tabs and newlines in free text. */
export const NO_CONTROL_CHARS = /^[^\u0000-\u001f\u007f]*$/;
export const FREE_TEXT = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;
/** A module name as PyTorch spells it: dotted identifiers (`q_proj`, `layers.0.mlp.up_proj`). */
export const MODULE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
