import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  DEFAULT_ALPHA,
  effectiveScale,
  lrSchedulerSchema,
  promptTemplateSchema,
  scalingSchema,
  scalingText,
} from './training-settings.js';

function issues(schema: z.ZodType, value: unknown): string {
  const r = schema.safeParse(value);
  return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

describe('adapter.scaling', () => {
  it('reads the three modes', () => {
    expect(scalingSchema.parse('alpha_over_rank')).toEqual({ mode: 'alpha_over_rank' });
    expect(scalingSchema.parse('rslora')).toEqual({ mode: 'rslora' });
    expect(scalingSchema.parse({ fixed: 2 })).toEqual({ mode: 'fixed', value: 2 });
    expect(scalingText({ mode: 'fixed', value: 0.5 })).toBe('fixed:0.5');
    expect(scalingText({ mode: 'rslora' })).toBe('rslora');
  });

  it('refuses an unknown name or a bad scale, naming the valid values', () => {
    expect(issues(scalingSchema, 'alpha_over_r')).toMatch(/unknown scaling "alpha_over_r"; use one of alpha_over_rank, rslora, or \{fixed: <scale>\}/);
    expect(issues(scalingSchema, 'fixed')).toMatch(/unknown scaling "fixed"/);
    expect(issues(scalingSchema, { fixed: 0 })).toMatch(/fixed: must be a positive number/);
    expect(issues(scalingSchema, { fixed: 2, extra: 1 })).toMatch(/unknown scaling/);
  });

  it('gives LoRA r=8 and BSLoRA 2/4/16 the same scale under fixed 2 and not under alpha_over_rank', () => {
    const fixed = scalingSchema.parse({ fixed: 2 });
    expect(effectiveScale('lora', fixed, null, 8)).toBe(2);
    expect(effectiveScale('bslora', fixed, 99, 22)).toBe(2);
    const alpha = scalingSchema.parse('alpha_over_rank');
    expect(effectiveScale('lora', alpha, null, 8)).toBe(DEFAULT_ALPHA / 8);
    expect(effectiveScale('bslora', alpha, null, 22)).toBeCloseTo(16 / 22, 12);
    expect(effectiveScale('bslora', scalingSchema.parse('rslora'), 22, 22)).toBeCloseTo(Math.sqrt(22), 12);
    expect(effectiveScale('vera', fixed, null, 256)).toBeNull();
    expect(effectiveScale('base', fixed, null, 0)).toBeNull();
  });
});

describe('training.lr_scheduler and training.prompt_template', () => {
  it('take the names the worker builds and refuse others with the list', () => {
    for (const name of ['linear', 'cosine', 'constant_with_warmup']) expect(lrSchedulerSchema.parse(name)).toBe(name);
    expect(issues(lrSchedulerSchema, 'step')).toMatch(/unknown lr_scheduler "step"; use one of linear, cosine, constant_with_warmup/);
    for (const name of ['alpaca', 'alpaca_short', 'none']) expect(promptTemplateSchema.parse(name)).toBe(name);
    expect(issues(promptTemplateSchema, 'vicuna')).toMatch(/use one of alpaca, alpaca_short, none/);
  });
});
