/**
 * The sweep spec (docs/sweep-spec.md): one zod schema, the `SweepSpec` type derived from it, and the JSON Schema in
 * `jobs/sweep.schema.json` generated from it. Every object is strict: an unknown key is an error naming its path.
 *
 * Structure is checked field by field; rules that tie fields together (a `kron` mode needs `kron_share_size`, a
 * sharing ratio must expand to whole ranks, `budget.max_trials`, …) live in `check-sweep-spec.ts` and run as one
 * refinement of the whole spec. Whether local files exist is checked by `parseSweepSpec`, which knows the spec's
 * folder.
 */
import { z } from 'zod';

import { checkSweepSpec } from './check-sweep-spec.js';
import { checkBuiltin } from './builtin-resources.js';
import { checkRefSyntax, classifyRef } from './resource-refs.js';
import { SELECTOR_SYNTAX, parseExpectTarget, parseTrialSelector } from './expect-rules.js';
import { TRIAL_DEFAULTS } from './trial-defaults.js';
import { METHODS, SHARE_MODES, TASK_TYPES } from './trial-enums.js';

/** Aggregate metrics an `expect` rule can judge, in percentage points (0–100). */
export const EXPECT_METRICS = ['mean_acc', 'mean_acc_norm'] as const;
/** Sweep outcomes a webhook can subscribe to. */
export const NOTIFY_EVENTS = ['completed', 'completed_with_failures', 'failed', 'cancelled'] as const;

/** A value or a non-empty list of values; a grid axis may be written either way (`share_mode: kron`). */
function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item).min(1)]);
}

function refString(what: string, role: 'model' | 'data') {
  return z
    .string()
    .min(1)
    .superRefine((ref, ctx) => {
      const problem = checkRefSyntax(ref) ?? (classifyRef(ref) === 'builtin' ? checkBuiltin(ref, role) : null);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe(
      `${what}: builtin:<name>, a local path (relative to the spec file; start it with ./ or /), or a hub id (owner/name[@revision])`,
    );
}

const rankPart = z.int().min(0);

/** One explicit BSLoRA rank triple. */
export const rankTripleSchema = z
  .strictObject({
    local: rankPart.describe('rank of the per-module local pair'),
    intra: rankPart.describe('rank of the pair shared by the adapted modules of one layer'),
    inter: rankPart.describe('rank of the pair shared by every layer'),
  })
  .describe('a BSLoRA rank triple');

const rankAxes = {
  ranks: z.array(rankTripleSchema).min(1).optional().describe('explicit local/intra/inter rank triples'),
  total_rank: oneOrMany(z.int().min(1)).optional().describe('total rank R = local + intra + inter'),
  sharing_ratio: oneOrMany(z.number().min(0).max(1))
    .optional()
    .describe('ρ = (intra + inter) / R; needs total_rank and intra_fraction'),
  intra_fraction: oneOrMany(z.number().min(0).max(1))
    .optional()
    .describe('φ = intra / (intra + inter); needs total_rank and sharing_ratio'),
};

const modeAxes = {
  share_mode: oneOrMany(z.enum(SHARE_MODES)).optional().describe(`BSLoRA shape transformation(s); default ${TRIAL_DEFAULTS.grid.share_mode}`),
  kron_share_size: oneOrMany(z.int().min(1)).optional().describe('shared matrix size for kron mode'),
  gate_share_size: oneOrMany(z.int().min(1)).optional().describe('shared matrix size for gate mode'),
};

/** A paired block: BSLoRA settings that only make sense together, expanded on their own (no cartesian product). */
export const pairedBlockSchema = z
  .strictObject({ ...modeAxes, ...rankAxes })
  .describe(
    'BSLoRA settings expanded together; keys not set here are taken from the grid, and a block that sets any rank key replaces all four',
  );

export const gridSchema = z
  .strictObject({
    method: oneOrMany(z.enum(METHODS)).describe('methods to run: bslora, lora, vera, base'),
    ...modeAxes,
    ...rankAxes,
    ratio_tolerance: z
      .number()
      .min(0)
      .max(0.5)
      .default(0)
      .describe('largest accepted difference between a requested ρ or φ and the one realised by whole ranks'),
    paired: z
      .array(pairedBlockSchema)
      .min(1)
      .optional()
      .describe('BSLoRA blocks expanded one by one instead of the cartesian product of the grid axes'),
    lora_ranks: oneOrMany(z.int().min(1)).optional().describe('ranks of the LoRA baseline'),
    vera_ranks: oneOrMany(z.int().min(1)).optional().describe(`ranks of the VeRA baseline; default ${TRIAL_DEFAULTS.grid.vera_ranks}`),
    seeds: z.array(z.int().min(0)).min(1).optional().describe('seeds; every configuration runs once per seed'),
  })
  .describe('the axes the sweep expands over');

export const trainingSchema = z
  .strictObject({
    steps: z.int().min(1).optional().describe('optimiser steps (give steps or epochs)'),
    epochs: z.number().positive().optional().describe('passes over the train data (give steps or epochs)'),
    learning_rate: z.number().positive(),
    batch_size: z.int().min(1).describe('effective batch size (examples per optimiser step)'),
    seq_len: z.int().min(1).describe('maximum tokens per example'),
    warmup_steps: z
      .int()
      .min(0)
      .default(TRIAL_DEFAULTS.training.warmup_steps as number)
      .describe('linear warm-up steps; 0: none, the first step runs at the peak learning rate'),
    seed: z.int().min(0).optional().describe('one seed (or use seeds, or grid.seeds)'),
    seeds: z.array(z.int().min(0)).min(1).optional().describe('several seeds'),
    eval_limit: z.int().min(1).optional().describe('evaluate at most this many examples per eval task'),
    checkpoint_every: z.int().min(1).optional().describe('save a resumable checkpoint every N steps'),
    gradient_checkpointing: z
      .boolean()
      .default(TRIAL_DEFAULTS.training.gradient_checkpointing as boolean)
      .describe("recompute the base model's activations in the backward pass: less memory, more compute"),
    bf16_autocast: z
      .boolean()
      .default(TRIAL_DEFAULTS.training.bf16_autocast as boolean)
      .describe('forward and backward under bfloat16 autocast where the device supports it (adapter weights stay float32)'),
  })
  .superRefine((t, ctx) => {
    if ((t.steps === undefined) === (t.epochs === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: t.steps === undefined ? ['steps'] : ['epochs'],
        message: t.steps === undefined ? 'give steps or epochs' : 'give steps or epochs, not both',
      });
    }
  });

export const adapterSchema = z.strictObject({
  lora_alpha: z
    .number()
    .positive()
    .optional()
    .describe(
      `scaling numerator for lora and bslora (scale = alpha / rank); unset: ${TRIAL_DEFAULTS.lora.lora_alpha_per_rank} × rank for lora, ${TRIAL_DEFAULTS.bslora.lora_alpha} for bslora`,
    ),
  lora_dropout: z
    .number()
    .min(0)
    .lt(1)
    .default(TRIAL_DEFAULTS.adapter.lora_dropout as number)
    .describe('dropout on the adapter input'),
});

export const expectRuleSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    best: z
      .string()
      .refine((s) => parseTrialSelector(s) !== null, { message: `must be a selector: ${SELECTOR_SYNTAX}` })
      .describe(`configurations judged, best one counts: ${SELECTOR_SYNTAX}`),
    metric: z.enum(EXPECT_METRICS).default('mean_acc').describe('mean over eval tasks, in points (0-100)'),
    at_least: z
      .union([z.number(), z.string()])
      .refine((t) => parseExpectTarget(t) !== null, {
        message: 'must be a number or "<selector> [+|- <points>]", e.g. "lora:r8 - 0.5"',
      })
      .describe('the best value must reach this: a number, or "<selector> [+|- <points>]"'),
    max_param_share: z
      .number()
      .positive()
      .optional()
      .describe("only configurations with at most this fraction of param_reference's trainable parameters count"),
    param_reference: z
      .string()
      .refine((s) => parseTrialSelector(s) !== null, { message: `must be a selector: ${SELECTOR_SYNTAX}` })
      .optional()
      .describe('selector for the parameter budget; default: the selector in at_least'),
  })
  .describe('a check on the sweep result for CI');

export const notifySchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).describe('webhook URL (POST, signed with HMAC-SHA256 when secret_env is set)'),
  secret_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional()
    .describe('name of the environment variable (on the control plane) holding the signing secret'),
  events: z.array(z.enum(NOTIFY_EVENTS)).min(1).optional().describe('sweep outcomes to send; default all'),
});

export const budgetSchema = z.strictObject({
  max_trials: z.int().min(1).optional().describe('refuse the spec when it expands to more trials'),
  max_device_hours: z.number().positive().optional().describe('stop queueing new trials past this much device time'),
});

/** The sweep spec object, before the cross-field rules. */
export const sweepSpecObjectSchema = z.strictObject({
  $schema: z.string().optional().describe('editor hint; ignored'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "must be 1-100 letters, digits, '.', '_' or '-'")
    .describe('sweep name'),
  description: z.string().optional(),
  base_model: refString('base model', 'model'),
  task_type: z.enum(TASK_TYPES).default(TRIAL_DEFAULTS.task_type),
  train_data: refString('train data', 'data'),
  eval_tasks: z.array(refString('eval task', 'data')).min(1),
  target_modules: z.array(z.string().min(1)).min(1).describe('module names to adapt, e.g. q_proj'),
  training: trainingSchema,
  adapter: adapterSchema.prefault({}),
  grid: gridSchema,
  expect: z.array(expectRuleSchema).optional(),
  notify: z.array(notifySchema).optional(),
  priority: z.int().min(1).max(1000).default(500).describe('1 (runs first) to 1000 (runs last)'),
  budget: budgetSchema.optional(),
});

/** A validated sweep spec (defaults applied). */
export type SweepSpec = z.output<typeof sweepSpecObjectSchema>;
/** A sweep spec as written (defaults not yet applied). */
export type SweepSpecInput = z.input<typeof sweepSpecObjectSchema>;

/** The sweep spec schema: structure plus every cross-field rule (not file existence; see `parseSweepSpec`). */
export const sweepSpecSchema = sweepSpecObjectSchema.superRefine((spec, ctx) => {
  for (const issue of checkSweepSpec(spec)) {
    ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  }
});
