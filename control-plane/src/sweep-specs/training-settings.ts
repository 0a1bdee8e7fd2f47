/**
 * The settings a sweep shares with the BSLoRA reference's protocol: the adapter scale (`adapter.scaling`), the
 * learning-rate schedule, gradient accumulation and the prompt. The worker implements each
 * (`bslora_worker/trials/adapter_scaling.py`, `lr_schedule.py`, `micro_batches.py`, `data/formats.py`); the names
 * here are the ones it accepts.
 *
 * Scale modes (ΔW = s · B A):
 * - `{fixed: s}`: s for every method and every part, whatever the rank (`lora_alpha` is not used).
 * - `alpha_over_rank`: PEFT's α/r; for BSLoRA r is the total rank local + intra + inter.
 * - `rslora`: α/√r (rank-stabilised LoRA); for BSLoRA r is the total rank.
 * VeRA has no such factor (its learned scaling vectors take that part): its effective scale is null.
 */
import { z } from 'zod';

import {
  LrScheduler as LrSchedulerEnum,
  PromptTemplate as PromptTemplateEnum,
  ScalingMode,
  type AdapterScaling as AdapterScalingMessage,
  type Trial,
} from '../gen/bslora_api/worker/v1/worker_service.js';

export const SCALING_MODES = ['fixed', 'alpha_over_rank', 'rslora'] as const;
export const LR_SCHEDULERS = ['linear', 'cosine', 'constant_with_warmup'] as const;
export const PROMPT_TEMPLATES = ['alpaca', 'alpaca_short', 'none'] as const;

/** `adapter.scaling` as a spec (and proto/trial-defaults.json) writes it. */
export type ScalingSetting = 'alpha_over_rank' | 'rslora' | { fixed: number };
export type AdapterScaling = { mode: 'fixed'; value: number } | { mode: 'alpha_over_rank' | 'rslora' };
export type LrScheduler = (typeof LR_SCHEDULERS)[number];
export type PromptTemplate = (typeof PROMPT_TEMPLATES)[number];

const SCALING_SYNTAX = `one of alpha_over_rank, rslora, or {fixed: <scale>} (e.g. {fixed: 2})`;

/** The problem with a scaling setting, or null when it is one. */
function scalingProblem(value: unknown): { path: string[]; message: string } | null {
  if (value === 'alpha_over_rank' || value === 'rslora') return null;
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    'fixed' in value
  ) {
    const s = (value as { fixed: unknown }).fixed;
    return typeof s === 'number' && Number.isFinite(s) && s > 0
      ? null
      : { path: ['fixed'], message: `must be a positive number (the scale), got ${JSON.stringify(s)}` };
  }
  return { path: [], message: `unknown scaling ${JSON.stringify(value)}; use ${SCALING_SYNTAX}` };
}

/** `adapter.scaling` in a spec: `alpha_over_rank`, `rslora` or `{fixed: <s>}`; anything else names the valid ones. */
export const scalingSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    const problem = scalingProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  })
  .transform((value) => value as ScalingSetting)
  .describe(
    `the adapter scale s of lora and bslora: ${SCALING_SYNTAX}; default {fixed: 2}, the same for every method`,
  );

/** A scaling setting as the planner and the worker read it. */
export function parseScaling(setting: ScalingSetting): AdapterScaling {
  return typeof setting === 'string' ? { mode: setting } : { mode: 'fixed', value: setting.fixed };
}

/** The proto message of a scaling setting. */
export function scalingMessage(setting: ScalingSetting): AdapterScalingMessage {
  const s = parseScaling(setting);
  if (s.mode === 'fixed') return { mode: ScalingMode.SCALING_MODE_FIXED, fixed: s.value };
  return {
    mode: s.mode === 'rslora' ? ScalingMode.SCALING_MODE_RSLORA : ScalingMode.SCALING_MODE_ALPHA_OVER_RANK,
    fixed: undefined,
  };
}

function namedSchema<T extends string>(names: readonly T[], what: string) {
  return z
    .string()
    .refine((v) => (names as readonly string[]).includes(v), {
      error: (issue) => `unknown ${what} ${JSON.stringify(issue.input)}; use one of ${names.join(', ')}`,
    })
    .transform((v) => v as T);
}

/** `training.lr_scheduler`: transformers' scheduler names the worker builds with `get_scheduler`. */
export const lrSchedulerSchema = namedSchema(LR_SCHEDULERS, 'lr_scheduler').describe(
  `learning-rate schedule after the warm-up: ${LR_SCHEDULERS.join(', ')} (transformers' get_scheduler); default linear (to 0, the Trainer's)`,
);

/** `training.prompt_template`: how instruction records (Alpaca files, `#llm-adapters` files) become prompts. */
export const promptTemplateSchema = namedSchema(PROMPT_TEMPLATES, 'prompt_template').describe(
  `prompt of instruction records: ${PROMPT_TEMPLATES.join(', ')}; default alpaca (the Stanford Alpaca template, the reference's)`,
);

/** The spec's `training` object as proto JSON: enum settings by proto name (`linear` → `LR_SCHEDULER_LINEAR`). */
export function trainingJson(training: Record<string, unknown>): Record<string, unknown> {
  const out = { ...training };
  if (typeof out.lr_scheduler === 'string') out.lr_scheduler = `LR_SCHEDULER_${out.lr_scheduler.toUpperCase()}`;
  if (typeof out.prompt_template === 'string')
    out.prompt_template = `PROMPT_TEMPLATE_${out.prompt_template.toUpperCase()}`;
  return out;
}

/** The spec name of a trial's schedule and prompt template (`LR_SCHEDULER_COSINE` → `cosine`); null when unset. */
export function lrSchedulerName(value: LrSchedulerEnum): string | null {
  const key = LrSchedulerEnum[value] as string | undefined;
  return key && value !== LrSchedulerEnum.LR_SCHEDULER_UNSPECIFIED
    ? key.slice('LR_SCHEDULER_'.length).toLowerCase()
    : null;
}
export function promptTemplateName(value: PromptTemplateEnum): string | null {
  const key = PromptTemplateEnum[value] as string | undefined;
  return key && value !== PromptTemplateEnum.PROMPT_TEMPLATE_UNSPECIFIED
    ? key.slice('PROMPT_TEMPLATE_'.length).toLowerCase()
    : null;
}

/** The canonical text of a scale mode (`fixed:2`, `alpha_over_rank`, `rslora`). */
export function scalingText(scaling: AdapterScaling): string {
  return scaling.mode === 'fixed' ? `fixed:${scaling.value}` : scaling.mode;
}

/**
 * The scale s of an adapter: `rank` is LoRA's r or BSLoRA's total rank, `alpha` the trial's scaling numerator
 * (defaults applied). Null for methods without one (vera, base).
 */
export function effectiveScale(method: string, scaling: AdapterScaling, alpha: number, rank: number): number | null {
  if (method !== 'lora' && method !== 'bslora') return null;
  if (scaling.mode === 'fixed') return scaling.value;
  return scaling.mode === 'rslora' ? alpha / Math.sqrt(rank) : alpha / rank;
}

/** The scale a planned trial trains at (what the worker applies; null for vera and base or an incomplete trial). */
export function trialScale(trial: Trial): number | null {
  const m = trial.method;
  if (!m || (m.$case !== 'lora' && m.$case !== 'bslora')) return null;
  const settings = m.value;
  const sc = settings.scaling;
  if (!sc || settings.loraAlpha === undefined) return null;
  const rank =
    m.$case === 'lora'
      ? m.value.rank
      : (m.value.ranks?.local ?? 0) + (m.value.ranks?.intra ?? 0) + (m.value.ranks?.inter ?? 0);
  const scaling: AdapterScaling | null =
    sc.mode === ScalingMode.SCALING_MODE_FIXED && sc.fixed !== undefined
      ? { mode: 'fixed', value: sc.fixed }
      : sc.mode === ScalingMode.SCALING_MODE_ALPHA_OVER_RANK
        ? { mode: 'alpha_over_rank' }
        : sc.mode === ScalingMode.SCALING_MODE_RSLORA
          ? { mode: 'rslora' }
          : null;
  return scaling && rank > 0 ? effectiveScale(m.$case, scaling, settings.loraAlpha, rank) : null;
}
