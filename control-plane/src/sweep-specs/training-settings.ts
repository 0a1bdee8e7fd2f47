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

export const SCALING_MODES = ['fixed', 'alpha_over_rank', 'rslora'] as const;
export const LR_SCHEDULERS = ['linear', 'cosine', 'constant_with_warmup'] as const;
export const PROMPT_TEMPLATES = ['alpaca', 'alpaca_short', 'none'] as const;

export type AdapterScaling = { mode: 'fixed'; value: number } | { mode: 'alpha_over_rank' | 'rslora' };
export type LrScheduler = (typeof LR_SCHEDULERS)[number];
export type PromptTemplate = (typeof PROMPT_TEMPLATES)[number];

/** The α of the alpha modes when a spec sets none: the reference's `lora_alpha` (16; LoRA r=8 then has scale 2). */
export const DEFAULT_ALPHA = 16;

const SCALING_SYNTAX = `one of alpha_over_rank, rslora, or {fixed: <scale>} (e.g. {fixed: 2})`;

/** `adapter.scaling` in a spec: `alpha_over_rank`, `rslora`, or `{fixed: <s>}`; anything else names the valid values. */
export const scalingSchema = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .transform((value, ctx): AdapterScaling => {
    if (value === 'alpha_over_rank' || value === 'rslora') return { mode: value };
    if (typeof value === 'object' && Object.keys(value).length === 1 && 'fixed' in value) {
      const s = value.fixed;
      if (typeof s === 'number' && Number.isFinite(s) && s > 0) return { mode: 'fixed', value: s };
      ctx.addIssue({ code: 'custom', path: ['fixed'], message: `must be a positive number (the scale), got ${JSON.stringify(s)}` });
      return z.NEVER;
    }
    ctx.addIssue({ code: 'custom', message: `unknown scaling ${JSON.stringify(value)}; use ${SCALING_SYNTAX}` });
    return z.NEVER;
  })
  .describe(`the adapter scale s of every method: ${SCALING_SYNTAX}; default {fixed: 2}, the same for every method`);

function namedSchema<T extends string>(names: readonly T[], what: string) {
  return z.string().refine((v) => (names as readonly string[]).includes(v), {
    error: (issue) => `unknown ${what} ${JSON.stringify(issue.input)}; use one of ${names.join(', ')}`,
  }) as unknown as z.ZodType<T, string>;
}

/** `training.lr_scheduler`: transformers' scheduler names the worker builds with `get_scheduler`. */
export const lrSchedulerSchema = namedSchema(LR_SCHEDULERS, 'lr_scheduler').describe(
  `learning-rate schedule after the warm-up: ${LR_SCHEDULERS.join(', ')} (transformers' get_scheduler); default linear (to 0, the Trainer's)`,
);

/** `training.prompt_template`: how instruction records (Alpaca files, `#llm-adapters` files) become prompts. */
export const promptTemplateSchema = namedSchema(PROMPT_TEMPLATES, 'prompt_template').describe(
  `prompt of instruction records: ${PROMPT_TEMPLATES.join(', ')}; default alpaca (the Stanford Alpaca template, the reference's)`,
);

/** The canonical text of a scale mode (`fixed:2`, `alpha_over_rank`, `rslora`), as trial keys and the worker take it. */
export function scalingText(scaling: AdapterScaling): string {
  return scaling.mode === 'fixed' ? `fixed:${scaling.value}` : scaling.mode;
}

/**
 * The scale s of a trial's adapter: `rank` is LoRA's r or BSLoRA's total rank, `alpha` the spec's `lora_alpha`
 * (null: {@link DEFAULT_ALPHA}). Null for methods without one (vera, base).
 */
export function effectiveScale(method: string, scaling: AdapterScaling, alpha: number | null, rank: number): number | null {
  if (method !== 'lora' && method !== 'bslora') return null;
  if (scaling.mode === 'fixed') return scaling.value;
  const a = alpha ?? DEFAULT_ALPHA;
  return scaling.mode === 'rslora' ? a / Math.sqrt(rank) : a / rank;
}
