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
import {
  lrSchedulerSchema,
  parseScaling,
  promptTemplateSchema,
  scalingSchema,
  type ScalingSetting,
} from './training-settings.js';
import { checkBuiltin } from './builtin-resources.js';
import { checkRefSyntax, classifyRef } from './resource-refs.js';
import { SELECTOR_SYNTAX, parseExpectTarget, parseTrialSelector } from './expect-rules.js';
import { TRIAL_DEFAULTS } from './trial-defaults.js';
import { METHODS, SHARE_MODES, TASK_TYPES } from './trial-enums.js';
import {
  FREE_TEXT,
  MAX_EXPECT_RULES,
  MAX_LIST_ITEMS,
  MAX_NOTIFY_TARGETS,
  MAX_TARGET_MODULES,
  MAX_TASKS,
  MODULE_NAME,
  NO_CONTROL_CHARS,
  NUMBER_RANGES as R,
  STRING_LENGTHS,
} from './spec-limits.js';

/** Aggregate metrics an `expect` rule can judge, in percentage points (0–100). */
export const EXPECT_METRICS = ['mean_acc', 'mean_acc_norm'] as const;
/** Sweep outcomes a webhook can subscribe to. */
export const NOTIFY_EVENTS = ['completed', 'completed_with_failures', 'failed', 'cancelled'] as const;

/** A value or a non-empty list of values; a grid axis may be written either way (`share_mode: kron`). */
function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item).min(1).max(MAX_LIST_ITEMS)]);
}

/** An integer within one of the documented ranges (spec-limits.ts). */
function intIn(range: { min: number; max: number }) {
  return z.int().min(range.min).max(range.max);
}

/** A short string without control characters (NUL included). */
function plainString(max: number) {
  return z.string().max(max).regex(NO_CONTROL_CHARS, 'must not contain control characters');
}

function refString(what: string, role: 'model' | 'data') {
  return z
    .string()
    .min(1)
    .max(STRING_LENGTHS.ref)
    .regex(NO_CONTROL_CHARS, 'must not contain control characters')
    .superRefine((ref, ctx) => {
      const problem = checkRefSyntax(ref) ?? (classifyRef(ref) === 'builtin' ? checkBuiltin(ref, role) : null);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe(
      `${what}: builtin:<name>, a local path (relative to the spec file; start it with ./ or /), or a hub id (owner/name[@revision])`,
    );
}

const rankPart = intIn(R.rank);

/** One explicit BSLoRA rank triple. */
export const rankTripleSchema = z
  .strictObject({
    local: rankPart.describe('rank of the per-module local pair'),
    intra: rankPart.describe('rank of the pair shared by the adapted modules of one layer'),
    inter: rankPart.describe('rank of the pair shared by every layer'),
  })
  .describe('a BSLoRA rank triple');

const rankAxes = {
  ranks: z
    .array(rankTripleSchema)
    .min(1)
    .max(MAX_LIST_ITEMS)
    .optional()
    .describe('explicit local/intra/inter rank triples'),
  total_rank: oneOrMany(intIn({ min: 1, max: R.rank.max }))
    .optional()
    .describe('total rank R = local + intra + inter'),
  sharing_ratio: oneOrMany(z.number().min(0).max(1))
    .optional()
    .describe('ρ = (intra + inter) / R; needs total_rank and intra_fraction'),
  intra_fraction: oneOrMany(z.number().min(0).max(1))
    .optional()
    .describe('φ = intra / (intra + inter); needs total_rank and sharing_ratio'),
};

const modeAxes = {
  share_mode: oneOrMany(z.enum(SHARE_MODES))
    .optional()
    .describe(`BSLoRA shape transformation(s); default ${TRIAL_DEFAULTS.grid.share_mode}`),
  kron_share_size: oneOrMany(intIn(R.shareSize)).optional().describe('shared matrix size for kron mode'),
  gate_share_size: oneOrMany(intIn(R.shareSize)).optional().describe('shared matrix size for gate mode'),
};

/** A paired block: BSLoRA settings that only make sense together, expanded on their own (no cartesian product). */
export const pairedBlockSchema = z
  .strictObject({ ...modeAxes, ...rankAxes })
  .describe(
    'BSLoRA settings expanded together; keys not set here are taken from the grid, and a block that sets any rank key replaces all four',
  );

/** One baseline of any PEFT method: a name and the PEFT config's fields (`peft_type` and its keyword arguments). */
export const peftEntrySchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,39}$/, "must be 1-40 lower-case letters, digits, '.', '_' or '-'")
      .describe("the entry's name in trial names, tables and selectors (peft:<name>)"),
    peft: z
      .looseObject({
        peft_type: z
          .string()
          .regex(/^[A-Za-z0-9_]+$/, 'must be a PEFT method name such as LOKR')
          .describe('PEFT method, e.g. LOKR'),
      })
      .describe(
        "the config's fields, as PEFT's config class takes them; target_modules and task_type default to the spec's",
      ),
  })
  .describe('a baseline of any PEFT method, validated by a worker at submit');

export const gridSchema = z
  .strictObject({
    method: oneOrMany(z.enum(METHODS)).describe(`methods to run: ${METHODS.join(', ')}`),
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
      .max(MAX_LIST_ITEMS)
      .optional()
      .describe('BSLoRA blocks expanded one by one instead of the cartesian product of the grid axes'),
    lora_ranks: oneOrMany(intIn({ min: 1, max: R.rank.max }))
      .optional()
      .describe('ranks of the LoRA baseline'),
    vera_ranks: oneOrMany(intIn({ min: 1, max: R.rank.max }))
      .optional()
      .describe(`ranks of the VeRA baseline; default ${TRIAL_DEFAULTS.grid.vera_ranks}`),
    seeds: z
      .array(intIn(R.seed))
      .min(1)
      .max(MAX_LIST_ITEMS)
      .optional()
      .describe('seeds; every configuration runs once per seed'),
    peft: z
      .array(peftEntrySchema)
      .min(1)
      .max(MAX_LIST_ITEMS)
      .optional()
      .describe('baselines of any PEFT method (method peft)'),
  })
  .describe('the axes the sweep expands over');

export const trainingSchema = z
  .strictObject({
    steps: intIn(R.steps).optional().describe('optimiser steps (give steps or epochs)'),
    epochs: z
      .number()
      .positive()
      .max(R.epochs.max)
      .optional()
      .describe('passes over the train data (give steps or epochs)'),
    learning_rate: z.number().positive().max(R.learningRate.max),
    batch_size: intIn(R.batchSize).describe('effective batch size (examples per optimiser step)'),
    seq_len: intIn(R.seqLen).describe('maximum tokens per example'),
    warmup_steps: intIn(R.warmupSteps)
      .default(TRIAL_DEFAULTS.training.warmup_steps as number)
      .describe('linear warm-up steps; 0: none, the first step runs at the peak learning rate'),
    seed: intIn(R.seed).optional().describe('one seed (or use seeds, or grid.seeds)'),
    seeds: z.array(intIn(R.seed)).min(1).max(MAX_LIST_ITEMS).optional().describe('several seeds'),
    eval_limit: intIn(R.evalLimit).optional().describe('evaluate at most this many examples per eval task'),
    checkpoint_every: intIn(R.checkpointEvery).optional().describe('save a resumable checkpoint every N steps'),
    lr_scheduler: lrSchedulerSchema.optional(),
    micro_batch_size: intIn(R.batchSize)
      .optional()
      .describe(
        'examples per forward pass: each step accumulates gradients over batch_size / micro_batch_size of them (must divide batch_size); unset: batch_size',
      ),
    train_on_inputs: z
      .boolean()
      .optional()
      .describe(
        `put the loss on the prompt's tokens too; default ${String(TRIAL_DEFAULTS.training.train_on_inputs)} (the completion only, as the reference)`,
      ),
    prompt_template: promptTemplateSchema.optional(),
    gradient_checkpointing: z
      .boolean()
      .optional()
      .describe(
        `recompute the base model's activations in the backward pass: less memory, more compute; default ${String(TRIAL_DEFAULTS.training.gradient_checkpointing)}`,
      ),
    validation_holdout: intIn(R.validationHoldout)
      .optional()
      .describe(
        'hold this many training examples out as a validation split (carved deterministically from train_data, never from a test split); the worker reports the adapter loss on it; a search ranks by it',
      ),
    bf16_autocast: z
      .boolean()
      .optional()
      .describe(
        `forward and backward under bfloat16 autocast where the device supports it (adapter weights stay float32); default ${String(TRIAL_DEFAULTS.training.bf16_autocast)}`,
      ),
  })
  .superRefine((t, ctx) => {
    if (t.micro_batch_size !== undefined && t.batch_size % t.micro_batch_size !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['micro_batch_size'],
        message: `must divide batch_size (${t.batch_size}), got ${t.micro_batch_size}; e.g. batch_size 64 from micro_batch_size 4`,
      });
    }
    if ((t.steps === undefined) === (t.epochs === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: t.steps === undefined ? ['steps'] : ['epochs'],
        message: t.steps === undefined ? 'give steps or epochs' : 'give steps or epochs, not both',
      });
    }
  });

export const adapterSchema = z
  .strictObject({
    scaling: scalingSchema.optional(),
    lora_alpha: z
      .number()
      .positive()
      .max(R.loraAlpha.max)
      .optional()
      .describe(
        `scaling numerator of the alpha modes of scaling (alpha_over_rank: s = alpha / rank; rslora: alpha / sqrt(rank)); unset: ${TRIAL_DEFAULTS.lora.lora_alpha_per_rank} × rank for lora, ${TRIAL_DEFAULTS.bslora.lora_alpha} for bslora`,
      ),
    lora_dropout: z
      .number()
      .min(0)
      .lt(1)
      .default(TRIAL_DEFAULTS.adapter.lora_dropout as number)
      .describe('dropout on the adapter input'),
    kron_shared_dropout: z
      .boolean()
      .optional()
      .describe(
        `apply lora_dropout to BSLoRA's shared kron path too; default ${String(TRIAL_DEFAULTS.bslora.kron_shared_dropout)}; false is the reference's behaviour (dropout on the local path only)`,
      ),
  })
  .superRefine((a, ctx) => {
    const scaling = parseScaling((a.scaling ?? TRIAL_DEFAULTS.adapter.scaling) as ScalingSetting);
    if (a.lora_alpha !== undefined && scaling.mode === 'fixed') {
      ctx.addIssue({
        code: 'custom',
        path: ['lora_alpha'],
        message: `has no effect: the scale is fixed at ${scaling.value}${a.scaling === undefined ? ' (the default scaling)' : ''}; drop lora_alpha, or set scaling: alpha_over_rank (or rslora) for a scale of alpha / rank`,
      });
    }
  });

export const expectRuleSchema = z
  .strictObject({
    name: plainString(STRING_LENGTHS.expectName).min(1).optional(),
    best: plainString(STRING_LENGTHS.selector)
      .refine((s) => parseTrialSelector(s) !== null, { message: `must be a selector: ${SELECTOR_SYNTAX}` })
      .describe(`configurations judged, best one counts: ${SELECTOR_SYNTAX}`),
    metric: z.enum(EXPECT_METRICS).default('mean_acc').describe('mean over eval tasks, in points (0-100)'),
    at_least: z
      .union([z.number(), plainString(STRING_LENGTHS.selector)])
      .refine((t) => parseExpectTarget(t) !== null, {
        message: 'must be a number or "<selector> [+|- <points>]", e.g. "lora:r8 - 0.5"',
      })
      .describe('the best value must reach this: a number, or "<selector> [+|- <points>]"'),
    max_param_share: z
      .number()
      .positive()
      .optional()
      .describe("only configurations with at most this fraction of param_reference's trainable parameters count"),
    param_reference: plainString(STRING_LENGTHS.selector)
      .refine((s) => parseTrialSelector(s) !== null, { message: `must be a selector: ${SELECTOR_SYNTAX}` })
      .optional()
      .describe('selector for the parameter budget; default: the selector in at_least'),
    confidence: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe(
        'hold only when the lower bound of the interval at this confidence meets the target: the paired difference to the ' +
          'target selector (a bootstrap over items and seeds), or the t interval over seeds for a number; mean_acc only',
      ),
  })
  .refine((r) => r.confidence === undefined || r.metric === 'mean_acc', {
    message: 'confidence works with metric mean_acc only (items are scored correct or not by acc)',
    path: ['confidence'],
  })
  .describe('a check on the sweep result for CI');

export const notifySchema = z.strictObject({
  url: z
    .url({ protocol: /^https?$/ })
    .max(STRING_LENGTHS.url)
    // As written, not as the URL parser repairs it: `http:///etc/passwd` has no host.
    .regex(
      /^https?:\/\/[^/?#\s@]+(?:[/?#]|$)/i,
      'must be http(s)://host[:port]/path, with a host and no user name or password',
    )
    .describe(
      "webhook URL (POST, signed with HMAC-SHA256 when secret_env is set); its host must be on the server's allowlist (BSLORA_WEBHOOK_ALLOW_HOSTS)",
    ),
  secret_env: z
    .string()
    .regex(
      /^BSLORA_WEBHOOK_SECRET_[A-Z0-9_]{1,64}$/,
      'must name a variable BSLORA_WEBHOOK_SECRET_<NAME> (upper-case letters, digits, _): a spec may sign only with secrets set aside for webhooks',
    )
    .optional()
    .describe(
      'name of the environment variable on the control plane holding the signing secret: BSLORA_WEBHOOK_SECRET_<NAME>',
    ),
  events: z.array(z.enum(NOTIFY_EVENTS)).min(1).optional().describe('sweep outcomes to send; default all'),
});

export const budgetSchema = z.strictObject({
  max_trials: z
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe("refuse the spec when it expands to more trials (the server's own cap applies too)"),
  max_device_hours: z
    .number()
    .positive()
    .max(R.maxDeviceHours.max)
    .optional()
    .describe('stop queueing new trials past this much device time'),
});

export const searchSchema = z
  .strictObject({
    strategy: z.enum(['successive_halving']).describe('the search strategy: successive_halving'),
    eta: intIn(R.searchEta).optional().describe('keep the best 1/eta of each budget bucket at every rung; default 3'),
    min_steps: intIn(R.steps).describe('steps every configuration trains before the first selection'),
    max_steps: intIn(R.steps)
      .optional()
      .describe("steps of the last rung; default (and the only value allowed) training.steps, the grid's schedule"),
    budgets: z
      .union([
        z.strictObject({
          buckets: intIn(R.searchBuckets).describe('log-spaced buckets between the smallest and largest adapter'),
        }),
        z.strictObject({
          edges: z
            .array(z.number().positive().max(1e15))
            .min(1)
            .max(R.searchBuckets.max - 1)
            .refine((e) => e.every((v, i) => i === 0 || v > e[i - 1]!), { message: 'must be strictly ascending' })
            .describe('trainable-parameter counts separating the buckets, ascending'),
        }),
      ])
      .optional()
      .describe('how configurations are grouped by trainable parameters; default {buckets: 3}'),
  })
  .describe('successive halving over the grid: rungs of increasing steps, the best 1/eta of each budget continue');

/** The sweep spec object, before the cross-field rules. */
export const sweepSpecObjectSchema = z.strictObject({
  $schema: plainString(STRING_LENGTHS.ref).optional().describe('editor hint; ignored'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "must be 1-100 letters, digits, '.', '_' or '-'")
    .describe('sweep name'),
  description: z
    .string()
    .max(STRING_LENGTHS.description)
    .regex(FREE_TEXT, 'must not contain control characters other than tabs and newlines')
    .optional(),
  base_model: refString('base model', 'model'),
  task_type: z.enum(TASK_TYPES).default(TRIAL_DEFAULTS.task_type),
  train_data: refString('train data', 'data'),
  eval_tasks: z.array(refString('eval task', 'data')).min(1).max(MAX_TASKS),
  target_modules: z
    .array(
      z
        .string()
        .min(1)
        .max(STRING_LENGTHS.targetModule)
        .regex(
          MODULE_NAME,
          "must be a module name: letters, digits, '_', '.' and '-' (no path separators, spaces or shell text)",
        ),
    )
    .min(1)
    .max(MAX_TARGET_MODULES)
    .describe('module names to adapt, e.g. q_proj'),
  training: trainingSchema,
  adapter: adapterSchema.prefault({}),
  grid: gridSchema,
  expect: z.array(expectRuleSchema).max(MAX_EXPECT_RULES).optional(),
  notify: z.array(notifySchema).max(MAX_NOTIFY_TARGETS).optional(),
  priority: z.int().min(1).max(1000).default(500).describe('1 (runs first) to 1000 (runs last)'),
  budget: budgetSchema.optional(),
  search: searchSchema.optional(),
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
