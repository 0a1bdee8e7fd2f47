import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BUILTIN_RESOURCES } from './builtin-resources.js';
import { expandSweep } from './expand-sweep.js';
import { parseSweepSpec } from './parse-sweep-spec.js';
import { minimalSpec, toYaml } from './test-fixtures.js';
import { trialKeyMaterial } from './trial-key.js';
import { LrScheduler, PromptTemplate, ScalingMode, Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { trialCoordinates } from './trial-coordinates.js';
import { METHOD_VERSIONS } from './trial-defaults.js';

function expand(spec: Record<string, unknown>, baseDir?: string): Trial[] {
  return expandSweep(parseSweepSpec(toYaml(spec), { baseDir }));
}

function keysByName(trials: Trial[]): Map<string, string> {
  return new Map(trials.map((t) => [t.name, t.trialKey]));
}

/** Names of trials whose key differs between two expansions (trials present in both). */
function changed(a: Trial[], b: Trial[]): string[] {
  const kb = keysByName(b);
  return a.filter((t) => kb.has(t.name) && kb.get(t.name) !== t.trialKey).map((t) => t.name);
}

const GRID = {
  method: ['base', 'lora', 'vera', 'bslora'],
  lora_ranks: [8, 16],
  vera_ranks: [256],
  paired: [
    { share_mode: 'slice' },
    { share_mode: 'kron', kron_share_size: 16 },
    { share_mode: 'gate', gate_share_size: 64 },
  ],
  ranks: [
    { local: 2, intra: 4, inter: 8 },
    { local: 2, intra: 4, inter: 16 },
  ],
  seeds: [0, 1],
};

describe('expandSweep', () => {
  it('expands baselines and paired blocks in the documented order', () => {
    const trials = expand(minimalSpec({ grid: GRID }));
    expect(trials.map((t) => t.name)).toEqual([
      'base-s0',
      'lora-r8-s0',
      'lora-r16-s0',
      'vera-r256-s0',
      'bslora-slice-2/4/8-s0',
      'bslora-slice-2/4/16-s0',
      'bslora-kron16-2/4/8-s0',
      'bslora-kron16-2/4/16-s0',
      'bslora-gate64-2/4/8-s0',
      'bslora-gate64-2/4/16-s0',
      'base-s1',
      'lora-r8-s1',
      'lora-r16-s1',
      'vera-r256-s1',
      'bslora-slice-2/4/8-s1',
      'bslora-slice-2/4/16-s1',
      'bslora-kron16-2/4/8-s1',
      'bslora-kron16-2/4/16-s1',
      'bslora-gate64-2/4/8-s1',
      'bslora-gate64-2/4/16-s1',
    ]);
    expect(new Set(trials.map((t) => t.trialKey)).size).toBe(trials.length);
  });

  it("fills each method's settings, defaults included, into the trial", () => {
    const trials = expand(minimalSpec({ grid: GRID, adapter: { lora_alpha: 16, scaling: 'alpha_over_rank' } }));
    const byName = new Map(trials.map((t) => [t.name, t]));
    expect(byName.get('base-s0')).toMatchObject({
      method: { $case: 'base', value: {} },
      targetModules: [],
      methodVersion: 'base-eval/1',
    });
    expect(byName.get('lora-r16-s1')).toMatchObject({
      method: { $case: 'lora', value: { rank: 16, loraAlpha: 16, loraDropout: 0.05 } },
      seed: 1,
      targetModules: ['q_proj', 'v_proj'],
    });
    // VeRA has no alpha: the spec's lora_alpha cannot reach it.
    expect(byName.get('vera-r256-s0')!.method).toEqual({ $case: 'vera', value: { rank: 256, loraDropout: 0.05 } });
    expect(byName.get('bslora-kron16-2/4/16-s0')).toMatchObject({
      method: {
        $case: 'bslora',
        value: { ranks: { local: 2, intra: 4, inter: 16 }, share: { $case: 'kron', value: { shareSize: 16 } } },
      },
      methodVersion: 'bslora-method/1',
    });
    expect(trialCoordinates(byName.get('bslora-gate64-2/4/8-s0')!)).toMatchObject({
      shareMode: 'gate',
      shareSize: 64,
    });
    const t = byName.get('lora-r8-s0')!;
    expect(t.trialKey).toMatch(/^[0-9a-f]{64}$/);
    expect(t.training).toEqual({
      length: { $case: 'steps', value: 10 },
      learningRate: 0.001,
      batchSize: 4,
      seqLen: 32,
      warmupSteps: 0,
      evalLimit: undefined,
      checkpointEvery: undefined,
      lrScheduler: LrScheduler.LR_SCHEDULER_LINEAR,
      microBatchSize: undefined,
      trainOnInputs: false,
      promptTemplate: PromptTemplate.PROMPT_TEMPLATE_ALPACA,
      gradientCheckpointing: false,
      bf16Autocast: false,
    });
  });

  it('fills the documented defaults: leaving a setting out and writing its default give the same trial and key', () => {
    const grid = { method: ['lora', 'bslora'], lora_ranks: [8], ranks: [{ local: 2, intra: 2, inter: 4 }] };
    const implicit = expand(minimalSpec({ grid }));
    const explicit = expand(
      minimalSpec({
        grid: { ...grid, share_mode: 'slice' },
        task_type: 'causal_lm',
        adapter: { lora_dropout: 0.05, scaling: { fixed: 2 }, kron_shared_dropout: true },
        training: {
          steps: 10,
          learning_rate: 0.001,
          batch_size: 4,
          seq_len: 32,
          warmup_steps: 0,
          lr_scheduler: 'linear',
          train_on_inputs: false,
          prompt_template: 'alpaca',
          gradient_checkpointing: false,
          bf16_autocast: false,
        },
      }),
    );
    expect(explicit).toEqual(implicit);
    const fixed2 = { mode: ScalingMode.SCALING_MODE_FIXED, fixed: 2 };
    expect(implicit[0]!.method).toEqual({
      $case: 'lora',
      value: { rank: 8, loraAlpha: 16, loraDropout: 0.05, scaling: fixed2 },
    });
    expect(implicit[1]!.method).toMatchObject({ $case: 'bslora', value: { loraAlpha: 16, loraDropout: 0.05 } });
  });

  it('puts gradient_checkpointing and bf16_autocast into adapter trials and their keys (base evaluations keep theirs)', () => {
    const grid = { method: ['base', 'lora'], lora_ranks: [8] };
    const training = { steps: 10, learning_rate: 0.001, batch_size: 4, seq_len: 32 };
    const [base, lora] = expand(minimalSpec({ grid, training }));
    for (const setting of ['gradient_checkpointing', 'bf16_autocast']) {
      const [base2, lora2] = expand(minimalSpec({ grid, training: { ...training, [setting]: true } }));
      expect(lora2!.training, setting).toMatchObject({
        [setting === 'bf16_autocast' ? 'bf16Autocast' : 'gradientCheckpointing']: true,
      });
      expect(lora2!.trialKey, setting).not.toBe(lora!.trialKey);
      expect(base2!.trialKey, setting).toBe(base!.trialKey);
    }
  });

  it('keeps warmup_steps: 0 on the wire as a set 0, apart from leaving it unset', () => {
    const [t] = expand(minimalSpec({ grid: { method: 'lora', lora_ranks: 4 } }));
    const decoded = Trial.decode(Trial.encode(t!).finish());
    expect(decoded.training!.warmupSteps).toBe(0);
    expect(
      Trial.decode(Trial.encode({ ...t!, training: { ...t!.training!, warmupSteps: undefined } }).finish()).training!
        .warmupSteps,
    ).toBeUndefined();
  });

  it('expands R × ρ × φ into triples after explicit ranks, dropping duplicates', () => {
    const trials = expand(
      minimalSpec({
        grid: {
          method: 'bslora',
          ranks: [{ local: 4, intra: 3, inter: 9 }],
          total_rank: [16],
          sharing_ratio: [0.75, 0.5],
          intra_fraction: [0.25, 0.5],
        },
      }),
    );
    expect(trials.map((t) => t.name)).toEqual([
      'bslora-slice-4/3/9-s0',
      'bslora-slice-4/6/6-s0',
      'bslora-slice-8/2/6-s0',
      'bslora-slice-8/4/4-s0',
    ]);
  });

  it('gives the same keys when the same spec is submitted again', () => {
    const spec = minimalSpec({ grid: GRID });
    expect(expand(spec)).toEqual(expand(structuredClone(spec)));
  });

  it('does not change keys for fields that do not determine results', () => {
    const a = expand(minimalSpec({ grid: GRID }));
    const b = expand(
      minimalSpec({
        name: 'renamed',
        grid: GRID,
        priority: 3,
        budget: { max_trials: 100 },
        notify: [{ url: 'https://ci.example/hook' }],
        training: { steps: 10, learning_rate: 0.001, batch_size: 4, seq_len: 32, checkpoint_every: 5 },
        eval_tasks: ['builtin:arith'],
        target_modules: ['v_proj', 'q_proj'],
      }),
    );
    expect(changed(a, b)).toEqual([]);
  });

  it('changes only the kron trials when the kron share size changes', () => {
    const a = expand(minimalSpec({ grid: GRID }));
    const grid = { ...GRID, paired: [GRID.paired[0], { share_mode: 'kron', kron_share_size: 32 }, GRID.paired[2]] };
    const b = expand(minimalSpec({ grid }));
    expect(b.filter((t) => trialCoordinates(t).shareMode === 'kron').map((t) => t.name)).toEqual([
      'bslora-kron32-2/4/8-s0',
      'bslora-kron32-2/4/16-s0',
      'bslora-kron32-2/4/8-s1',
      'bslora-kron32-2/4/16-s1',
    ]);
    const oldKeys = new Set(a.map((t) => t.trialKey));
    const newTrials = b.filter((t) => !oldKeys.has(t.trialKey)).map((t) => t.name);
    expect(newTrials).toEqual(b.filter((t) => trialCoordinates(t).shareMode === 'kron').map((t) => t.name));
  });

  it('changes only the LoRA trials of a new rank when a LoRA rank is added', () => {
    const a = expand(minimalSpec({ grid: GRID }));
    const b = expand(minimalSpec({ grid: { ...GRID, lora_ranks: [8, 16, 32] } }));
    const oldKeys = new Set(a.map((t) => t.trialKey));
    expect(b.filter((t) => !oldKeys.has(t.trialKey)).map((t) => t.name)).toEqual(['lora-r32-s0', 'lora-r32-s1']);
  });

  it('changes every adapter trial but no base trial when the learning rate changes', () => {
    const a = expand(minimalSpec({ grid: GRID }));
    const b = expand(
      minimalSpec({ grid: GRID, training: { steps: 10, learning_rate: 0.002, batch_size: 4, seq_len: 32 } }),
    );
    expect(changed(a, b)).toEqual(a.filter((t) => t.method?.$case !== 'base').map((t) => t.name));
  });

  it('changes only the trials of a new seed when a seed is added', () => {
    const a = expand(minimalSpec({ grid: GRID }));
    const b = expand(minimalSpec({ grid: { ...GRID, seeds: [0, 1, 2] } }));
    expect(changed(a, b)).toEqual([]);
    expect(b.length).toBe(a.length * 1.5);
  });

  it('changes every key, base included, when the base model changes', () => {
    const a = expand(minimalSpec({ grid: GRID }));
    const b = expand(minimalSpec({ grid: GRID, base_model: 'builtin:smollm2-135m' }));
    expect(changed(a, b)).toEqual(a.map((t) => t.name));
  });

  it('changes the keys of one method, and only those, when its version in proto/method-versions.json changes', () => {
    const a = expand(minimalSpec({ grid: GRID }));
    const versions = METHOD_VERSIONS as Record<string, string>;
    const before = versions.bslora!;
    versions.bslora = 'bslora-method/next';
    try {
      const b = expand(minimalSpec({ grid: GRID }));
      expect(changed(a, b)).toEqual(a.filter((t) => t.method?.$case === 'bslora').map((t) => t.name));
      expect(b.find((t) => t.method?.$case === 'bslora')!.methodVersion).toBe('bslora-method/next');
    } finally {
      versions.bslora = before;
    }
  });

  it('refuses method_versions in a spec: versions come from proto/method-versions.json, which workers check', () => {
    expect(() => expand(minimalSpec({ grid: GRID, method_versions: { bslora: 'bslora-method/2' } }))).toThrow(
      /method_versions/,
    );
  });

  it("puts each builtin's version into the key: a new version of builtin:arith changes every key that uses it", () => {
    const a = expand(minimalSpec({ grid: GRID }));
    const tasks = BUILTIN_RESOURCES.tasks as Record<string, string>;
    const before = tasks.arith!;
    tasks.arith = `${before}-next`;
    try {
      // builtin:arith is both the train data and the eval task here, so every key changes, base included.
      expect(changed(a, expand(minimalSpec({ grid: GRID })))).toEqual(a.map((t) => t.name));
      const arith = { kind: 'builtin', ref: 'builtin:arith', version: `${before}-next` };
      const bslora = a.find((t) => t.method?.$case === 'bslora')!;
      expect(trialKeyMaterial(bslora)).toMatchObject({
        trainData: arith,
        evalTasks: [arith],
        baseModel: { kind: 'builtin', ref: 'builtin:tiny-llama', version: BUILTIN_RESOURCES.models['tiny-llama'] },
      });
    } finally {
      tasks.arith = before;
    }
    expect(changed(a, expand(minimalSpec({ grid: GRID })))).toEqual([]);
  });

  it('identifies local data by content: moving a file keeps keys, editing it changes them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'));
    mkdirSync(join(dir, 'moved'));
    writeFileSync(join(dir, 'train.json'), '[{"instruction":"a","output":"b"}]');
    writeFileSync(join(dir, 'moved', 'data.json'), '[{"instruction":"a","output":"b"}]');
    writeFileSync(join(dir, 'edited.json'), '[{"instruction":"a","output":"c!"}]');
    const grid = { method: ['base', 'lora'], lora_ranks: [8] };
    const a = expand(minimalSpec({ grid, train_data: './train.json' }), dir);
    const moved = expand(minimalSpec({ grid, train_data: './moved/data.json' }), dir);
    const edited = expand(minimalSpec({ grid, train_data: './edited.json' }), dir);
    expect(a[1]!.trainData).toBe(join(dir, 'train.json'));
    expect(changed(a, moved)).toEqual([]);
    expect(changed(a, edited)).toEqual(['lora-r8-s0']);
  });

  it('identifies a local model folder by the content of its files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'model-'));
    mkdirSync(join(dir, 'm1'));
    writeFileSync(join(dir, 'm1', 'config.json'), '{"hidden_size": 64}');
    const grid = { method: ['base'] };
    const a = expand(minimalSpec({ grid, base_model: './m1' }), dir);
    writeFileSync(join(dir, 'm1', 'config.json'), '{"hidden_size": 128}');
    const b = expand(minimalSpec({ grid, base_model: './m1' }), dir);
    expect(a[0]!.baseModel).toBe(join(dir, 'm1'));
    expect(a[0]!.trialKey).not.toBe(b[0]!.trialKey);
  });

  it('uses epochs instead of steps when the spec gives epochs', () => {
    const [trial] = expand(
      minimalSpec({
        grid: { method: 'lora', lora_ranks: 4 },
        training: { epochs: 2, learning_rate: 1e-4, batch_size: 4, seq_len: 32 },
      }),
    );
    expect(trial!.training!.length).toEqual({ $case: 'epochs', value: 2 });
  });
});

describe('expandSweep local reference styles', () => {
  it('puts the #style of an eval file into the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'style-'));
    writeFileSync(join(dir, 'test.json'), '[]');
    const grid = { method: ['base'] };
    const mc = expand(minimalSpec({ grid, eval_tasks: ['./test.json#mc'] }), dir);
    const other = expand(minimalSpec({ grid, eval_tasks: ['./test.json#llm-adapters'] }), dir);
    const plain = expand(minimalSpec({ grid, eval_tasks: ['./test.json'] }), dir);
    expect(new Set([mc[0]!.trialKey, other[0]!.trialKey, plain[0]!.trialKey]).size).toBe(3);
  });
});
