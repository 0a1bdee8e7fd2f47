import { describe, expect, it } from 'vitest';
import type { z } from 'zod';

import { LrScheduler, ScalingMode, type Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { expandSweep } from './expand-sweep.js';
import { parseSweepSpec } from './parse-sweep-spec.js';
import { issuesOf, minimalSpec, toYaml } from './test-fixtures.js';
import {
  effectiveScale,
  lrSchedulerSchema,
  parseScaling,
  promptTemplateSchema,
  scalingMessage,
  scalingSchema,
  scalingText,
  trialScale,
} from './training-settings.js';

function issues(schema: z.ZodType, value: unknown): string {
  const r = schema.safeParse(value);
  return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
}

function expand(spec: Record<string, unknown>): Trial[] {
  return expandSweep(parseSweepSpec(toYaml(spec)));
}

function specIssues(spec: Record<string, unknown>): string[] {
  return issuesOf(() => parseSweepSpec(toYaml(spec))).map((i) => `${i.path}: ${i.message}`);
}

/** One sweep: LoRA r=8 and BSLoRA 2/4/16 in every share mode (tiny-llama dims take kron 16 and gate 32). */
const SWEEP_GRID = {
  method: ['lora', 'bslora'],
  lora_ranks: [8],
  ranks: [{ local: 2, intra: 4, inter: 16 }],
  paired: [
    { share_mode: 'slice' },
    { share_mode: 'kron', kron_share_size: 16 },
    { share_mode: 'gate', gate_share_size: 32 },
  ],
};

describe('adapter.scaling', () => {
  it('reads the three modes as written and as the proto message', () => {
    expect(scalingSchema.parse('alpha_over_rank')).toBe('alpha_over_rank');
    expect(scalingSchema.parse({ fixed: 2 })).toEqual({ fixed: 2 });
    expect(parseScaling({ fixed: 0.5 })).toEqual({ mode: 'fixed', value: 0.5 });
    expect(scalingMessage('rslora')).toEqual({ mode: ScalingMode.SCALING_MODE_RSLORA, fixed: undefined });
    expect(scalingMessage({ fixed: 2 })).toEqual({ mode: ScalingMode.SCALING_MODE_FIXED, fixed: 2 });
    expect(scalingText(parseScaling({ fixed: 0.5 }))).toBe('fixed:0.5');
  });

  it('refuses an unknown name or a bad scale, naming the valid values', () => {
    expect(issues(scalingSchema, 'alpha_over_r')).toMatch(
      /unknown scaling "alpha_over_r"; use one of alpha_over_rank, rslora, or \{fixed: <scale>\}/,
    );
    expect(issues(scalingSchema, 'fixed')).toMatch(/unknown scaling "fixed"/);
    expect(issues(scalingSchema, { fixed: 0 })).toMatch(/fixed: must be a positive number/);
    expect(issues(scalingSchema, { fixed: 2, extra: 1 })).toMatch(/unknown scaling/);
    expect(specIssues(minimalSpec({ adapter: { scaling: 'alpha' } }))).toContainEqual(
      'adapter.scaling: unknown scaling "alpha"; use one of alpha_over_rank, rslora, or {fixed: <scale>} (e.g. {fixed: 2})',
    );
  });

  it('trains LoRA r=8 and BSLoRA 2/4/16 of one sweep at the same scale under the default', () => {
    const trials = expand(minimalSpec({ grid: SWEEP_GRID }));
    expect(trials.map((t) => t.name)).toEqual([
      'lora-r8-s0',
      'bslora-slice-2/4/16-s0',
      'bslora-kron16-2/4/16-s0',
      'bslora-gate32-2/4/16-s0',
    ]);
    expect(trials.map(trialScale)).toEqual([2, 2, 2, 2]);
    for (const t of trials)
      expect((t.method!.value as { scaling: unknown }).scaling).toEqual({
        mode: ScalingMode.SCALING_MODE_FIXED,
        fixed: 2,
      });
    // alpha_over_rank (the former rule) gives them different scales
    const old = expand(minimalSpec({ grid: SWEEP_GRID, adapter: { scaling: 'alpha_over_rank' } }));
    expect(old.map(trialScale)).toEqual([2, 16 / 22, 16 / 22, 16 / 22]);
  });

  it('refuses lora_alpha where the scale is fixed, saying how to use it', () => {
    expect(specIssues(minimalSpec({ adapter: { lora_alpha: 16 } }))).toContainEqual(
      'adapter.lora_alpha: has no effect: the scale is fixed at 2 (the default scaling); drop lora_alpha, or set scaling: alpha_over_rank (or rslora) for a scale of alpha / rank',
    );
    const t = expand(minimalSpec({ grid: SWEEP_GRID, adapter: { scaling: 'rslora', lora_alpha: 22 } }));
    expect(trialScale(t[1]!)).toBeCloseTo(Math.sqrt(22), 12);
  });

  it('computes each mode', () => {
    expect(effectiveScale('lora', { mode: 'fixed', value: 2 }, 99, 8)).toBe(2);
    expect(effectiveScale('bslora', { mode: 'alpha_over_rank' }, 16, 22)).toBeCloseTo(16 / 22, 12);
    expect(effectiveScale('vera', { mode: 'fixed', value: 2 }, 0, 256)).toBeNull();
  });
});

describe('training.lr_scheduler, micro_batch_size, train_on_inputs, prompt_template; adapter.kron_shared_dropout', () => {
  it('take the names the worker builds and refuse others with the list', () => {
    for (const name of ['linear', 'cosine', 'constant_with_warmup']) expect(lrSchedulerSchema.parse(name)).toBe(name);
    for (const name of ['alpaca', 'alpaca_short', 'none']) expect(promptTemplateSchema.parse(name)).toBe(name);
    const bad = specIssues(
      minimalSpec({
        training: {
          ...(minimalSpec().training as object),
          lr_scheduler: 'step',
          prompt_template: 'vicuna',
          micro_batch_size: 3,
        },
      }),
    );
    expect(bad).toContainEqual(
      'training.lr_scheduler: unknown lr_scheduler "step"; use one of linear, cosine, constant_with_warmup',
    );
    expect(bad).toContainEqual(
      'training.prompt_template: unknown prompt_template "vicuna"; use one of alpaca, alpaca_short, none',
    );
    expect(bad).toContainEqual(
      'training.micro_batch_size: must divide batch_size (4), got 3; e.g. batch_size 64 from micro_batch_size 4',
    );
  });

  it('fill the defaults into every trial', () => {
    const [lora] = expand(minimalSpec());
    expect(lora!.training).toMatchObject({
      lrScheduler: LrScheduler.LR_SCHEDULER_LINEAR,
      trainOnInputs: false,
      microBatchSize: undefined,
    });
  });

  it('change the keys of the trials whose meaning they change, and only those', () => {
    const base = expand(minimalSpec({ grid: SWEEP_GRID }));
    const keys = (ts: Trial[]) => ts.map((t) => t.trialKey);
    const training = minimalSpec().training as object;
    for (const t of [
      { lr_scheduler: 'cosine' },
      { micro_batch_size: 2 },
      { train_on_inputs: true },
      { prompt_template: 'none' },
    ]) {
      const other = keys(expand(minimalSpec({ grid: SWEEP_GRID, training: { ...training, ...t } })));
      other.forEach((k, i) => expect(k, JSON.stringify(t)).not.toBe(keys(base)[i]));
    }
    // the scale rule: every adapter's key
    const scaled = keys(expand(minimalSpec({ grid: SWEEP_GRID, adapter: { scaling: 'alpha_over_rank' } })));
    scaled.forEach((k, i) => expect(k).not.toBe(keys(base)[i]));
    // writing the default out changes nothing
    expect(keys(expand(minimalSpec({ grid: SWEEP_GRID, adapter: { scaling: { fixed: 2 } } })))).toEqual(keys(base));
    // the kron dropout switch: the kron trial only
    const kron = expand(minimalSpec({ grid: SWEEP_GRID, adapter: { kron_shared_dropout: false } }));
    expect(kron.filter((t, i) => t.trialKey !== base[i]!.trialKey).map((t) => t.name)).toEqual([
      'bslora-kron16-2/4/16-s0',
    ]);
    expect(kron[2]!.method).toMatchObject({
      value: { share: { $case: 'kron', value: { shareSize: 16, sharedDropout: false } } },
    });
  });
});
