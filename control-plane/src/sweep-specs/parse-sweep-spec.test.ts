import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ControlPlaneError } from '../errors.js';
import { parseSweepSpec } from './parse-sweep-spec.js';
import { issuesOf, minimalSpec, toYaml } from './test-fixtures.js';

function parse(spec: Record<string, unknown>, baseDir?: string) {
  return parseSweepSpec(toYaml(spec), { baseDir });
}

function issueAt(spec: Record<string, unknown>, path: string): string[] {
  return issuesOf(() => parse(spec))
    .filter((i) => i.path === path)
    .map((i) => i.message);
}

describe('parseSweepSpec', () => {
  it('applies defaults when a minimal spec is valid', () => {
    const spec = parse(minimalSpec());
    expect(spec.task_type).toBe('causal_lm');
    expect(spec.adapter.lora_dropout).toBe(0.05);
    expect(spec.grid.ratio_tolerance).toBe(0);
    expect(spec.priority).toBe(500);
  });

  it('reads JSON as well as YAML', () => {
    const spec = parseSweepSpec(JSON.stringify(minimalSpec()), { format: 'json' });
    expect(spec.name).toBe('unit');
    const viaName = parseSweepSpec(JSON.stringify(minimalSpec()), { sourceName: 'body.json' });
    expect(viaName.name).toBe('unit');
  });

  it('names the path of a negative rank', () => {
    const spec = minimalSpec({
      grid: {
        method: 'bslora',
        ranks: [
          { local: 1, intra: 1, inter: 1 },
          { local: 2, intra: 2, inter: 2 },
          { local: -1, intra: 2, inter: 2 },
        ],
      },
    });
    expect(issueAt(spec, 'grid.ranks[2].local')).toEqual([expect.stringContaining('must be >= 0')]);
  });

  it('names an unknown method by its index', () => {
    const spec = minimalSpec({ grid: { method: ['lora', 'lorra'], lora_ranks: [8] } });
    expect(issueAt(spec, 'grid.method[1]')[0]).toMatch(
      /"lorra" is not allowed; must be one of bslora, lora, vera, base/,
    );
  });

  it('names an unknown method given as a scalar', () => {
    const spec = minimalSpec({ grid: { method: 'qlora' } });
    expect(issueAt(spec, 'grid.method')[0]).toMatch(/"qlora"/);
  });

  it('refuses unknown keys at every level, suggesting the likely key', () => {
    const spec = minimalSpec({ tranining: {}, adapter: { lora_alpah: 16 } });
    const issues = issuesOf(() => parse(spec));
    expect(issues).toContainEqual({ path: 'tranining', message: 'unknown key (did you mean "training"?)' });
    expect(issues).toContainEqual({ path: 'adapter.lora_alpah', message: 'unknown key (did you mean "lora_alpha"?)' });
  });

  it('refuses an unknown key inside a rank triple and a paired block', () => {
    const spec = minimalSpec({
      grid: {
        method: 'bslora',
        ranks: [{ local: 1, intra: 1, inter: 1, outer: 2 }],
        paired: [{ share_mode: 'kron', kron_share_size: 4, kron_size: 3 }],
      },
    });
    const paths = issuesOf(() => parse(spec)).map((i) => i.path);
    expect(paths).toContain('grid.ranks[0].outer');
    expect(paths).toContain('grid.paired[0].kron_size');
  });

  it('reports every structural problem at once', () => {
    const spec = minimalSpec({
      name: '',
      training: { steps: 0, learning_rate: -1, batch_size: 1.5, seq_len: 32 },
      eval_tasks: [],
    });
    const paths = issuesOf(() => parse(spec)).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'name',
        'training.steps',
        'training.learning_rate',
        'training.batch_size',
        'eval_tasks',
      ]),
    );
  });

  it('says "required" for a missing field', () => {
    const { base_model: _, ...spec } = minimalSpec();
    expect(issueAt(spec, 'base_model')).toEqual(['required']);
  });

  it('requires exactly one of steps and epochs', () => {
    expect(
      issueAt(minimalSpec({ training: { learning_rate: 1, batch_size: 1, seq_len: 8 } }), 'training.steps'),
    ).toEqual(['give steps or epochs']);
    expect(
      issueAt(
        minimalSpec({ training: { steps: 1, epochs: 2, learning_rate: 1, batch_size: 1, seq_len: 8 } }),
        'training.epochs',
      ),
    ).toEqual(['give steps or epochs, not both']);
  });

  it('reports a missing local file as an issue naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-'));
    writeFileSync(join(dir, 'train.json'), '[]');
    const spec = minimalSpec({ train_data: './train.json', eval_tasks: ['builtin:arith', './missing-eval.json'] });
    const issues = issuesOf(() => parse(spec, dir));
    expect(issues).toEqual([{ path: 'eval_tasks[1]', message: expect.stringContaining('does not exist') }]);
  });

  it('reports a missing local file together with structural problems', () => {
    const spec = minimalSpec({ base_model: './no-model', grid: { method: 'warp' } });
    const paths = issuesOf(() => parse(spec, tmpdir())).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['base_model', 'grid.method']));
  });

  it('resolves local paths against baseDir and keeps builtin and hub refs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-'));
    writeFileSync(join(dir, 'train.jsonl'), '{}\n');
    const spec = parse(
      minimalSpec({
        base_model: 'hub:meta-llama/Llama-2-7b-hf',
        train_data: 'train.jsonl',
        eval_tasks: ['builtin:arith'],
      }),
      dir,
    );
    expect(spec.base_model).toBe('meta-llama/Llama-2-7b-hf');
    expect(spec.train_data).toBe(join(dir, 'train.jsonl'));
    expect(spec.eval_tasks).toEqual(['builtin:arith']);
  });

  it('refuses a malformed reference', () => {
    expect(issueAt(minimalSpec({ base_model: 'builtin:Tiny Llama' }), 'base_model')[0]).toMatch(/not a valid builtin/);
    expect(issueAt(minimalSpec({ base_model: 'not a model' }), 'base_model')[0]).toMatch(
      /neither a builtin reference/,
    );
  });

  it('refuses a builtin the worker does not have, or one of the wrong kind, naming the ones there are', () => {
    expect(issueAt(minimalSpec({ base_model: 'builtin:tiny-llama2' }), 'base_model')).toEqual([
      '"builtin:tiny-llama2" is not a builtin model; the builtin models are builtin:tiny-llama, builtin:smollm2-135m',
    ]);
    expect(issueAt(minimalSpec({ base_model: 'builtin:arith' }), 'base_model')[0]).toMatch(/not a builtin model/);
    expect(issueAt(minimalSpec({ train_data: 'builtin:tiny-llama' }), 'train_data')).toEqual([
      '"builtin:tiny-llama" is not a builtin task; the builtin tasks are builtin:arith',
    ]);
    expect(
      issueAt(minimalSpec({ eval_tasks: ['builtin:arith', 'builtin:arith/validation'] }), 'eval_tasks[1]'),
    ).toEqual(['"builtin:arith/validation": a builtin task has the splits train and test, not "validation"']);
    expect(() =>
      parse(minimalSpec({ train_data: 'builtin:arith/train', eval_tasks: ['builtin:arith/test'] })),
    ).not.toThrow();
  });

  it('throws CP_ERR_SPEC_INVALID with a message listing each issue', () => {
    try {
      parseSweepSpec(toYaml(minimalSpec({ priority: 0 })), { sourceName: 'jobs/x.yaml' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ControlPlaneError);
      const e = err as ControlPlaneError;
      expect(e.code).toBe('CP_ERR_SPEC_INVALID');
      expect(e.message).toContain('jobs/x.yaml is invalid (1 problem)');
      expect(e.message).toContain('priority: must be >= 1');
    }
  });

  it('reports YAML syntax errors and duplicate keys at the root', () => {
    expect(issuesOf(() => parseSweepSpec('name: [unclosed'))[0]!.message).toMatch(/YAML syntax error/);
    expect(issuesOf(() => parseSweepSpec('name: a\nname: b\n'))[0]!.message).toMatch(
      /YAML syntax error.*[Mm]ap keys must be unique/,
    );
    expect(issuesOf(() => parseSweepSpec('{', { format: 'json' }))[0]).toMatchObject({ path: '(root)' });
  });

  it('refuses a document that is not a mapping', () => {
    expect(issuesOf(() => parseSweepSpec('- a\n- b\n'))).toEqual([
      { path: '(root)', message: 'expected a mapping, got a list' },
    ]);
    expect(issuesOf(() => parseSweepSpec(''))).toEqual([{ path: '(root)', message: 'expected a mapping, got null' }]);
  });

  it('validates webhooks and budget', () => {
    const spec = minimalSpec({
      notify: [{ url: 'ftp://x.example', secret_env: 'MY-SECRET' }],
      budget: { max_trials: 0 },
    });
    const issues = issuesOf(() => parse(spec));
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['notify[0].url', 'notify[0].secret_env', 'budget.max_trials']),
    );
  });
});

describe('parseSweepSpec cross-field rules', () => {
  it('refuses a grid that expands past budget.max_trials', () => {
    const spec = minimalSpec({ budget: { max_trials: 1 } });
    expect(issueAt(spec, 'budget.max_trials')).toEqual(['the grid expands to 2 trials, more than max_trials 1']);
  });

  it('requires lora_ranks with lora, and refuses bslora keys without bslora', () => {
    const spec = minimalSpec({
      grid: { method: ['lora'], share_mode: 'kron', ranks: [{ local: 1, intra: 1, inter: 1 }] },
    });
    const issues = issuesOf(() => parse(spec));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'grid.lora_ranks', message: 'required when method includes lora' },
        { path: 'grid.share_mode', message: expect.stringContaining('applies only to method bslora') },
        { path: 'grid.ranks', message: expect.stringContaining('applies only to method bslora') },
      ]),
    );
  });

  it('requires ranks for bslora', () => {
    expect(issueAt(minimalSpec({ grid: { method: 'bslora' } }), 'grid.ranks')[0]).toMatch(/bslora needs ranks/);
  });

  it('requires all three of total_rank, sharing_ratio and intra_fraction', () => {
    const spec = minimalSpec({ grid: { method: 'bslora', total_rank: 8, sharing_ratio: 0.5 } });
    expect(issueAt(spec, 'grid.intra_fraction')[0]).toMatch(/give all three/);
  });

  it('refuses a sharing ratio that does not give whole ranks, naming the ratio', () => {
    const spec = minimalSpec({
      grid: { method: 'bslora', total_rank: [8], sharing_ratio: [0.5, 0.3], intra_fraction: 0.5 },
    });
    expect(issueAt(spec, 'grid.sharing_ratio[1]')[0]).toMatch(/2\.4 shared ranks/);
  });

  it('accepts rounding within ratio_tolerance', () => {
    const spec = parse(
      minimalSpec({
        grid: { method: 'bslora', total_rank: 8, sharing_ratio: 0.3, intra_fraction: 0.5, ratio_tolerance: 0.06 },
      }),
    );
    expect(spec.grid.ratio_tolerance).toBe(0.06);
  });

  it('refuses an all-zero rank triple', () => {
    const spec = minimalSpec({ grid: { method: 'bslora', ranks: [{ local: 0, intra: 0, inter: 0 }] } });
    expect(issueAt(spec, 'grid.ranks[0]')).toEqual(['local + intra + inter must be at least 1']);
  });

  it('requires the share size of each mode used, in the block that uses it', () => {
    const spec = minimalSpec({
      grid: {
        method: 'bslora',
        ranks: [{ local: 1, intra: 1, inter: 1 }],
        paired: [{ share_mode: 'kron', kron_share_size: 16 }, { share_mode: 'gate' }],
      },
    });
    expect(issuesOf(() => parse(spec))).toEqual([
      { path: 'grid.paired[1].gate_share_size', message: 'required when share_mode includes gate' },
    ]);
  });

  it('refuses a share size that no block uses', () => {
    const spec = minimalSpec({
      grid: { method: 'bslora', share_mode: 'slice', kron_share_size: 16, ranks: [{ local: 1, intra: 1, inter: 1 }] },
    });
    expect(issueAt(spec, 'grid.kron_share_size')[0]).toMatch(/has no effect/);
  });

  it('refuses seeds given in two places, and duplicate seeds', () => {
    const spec = minimalSpec({
      training: { steps: 1, learning_rate: 1, batch_size: 1, seq_len: 8, seed: 1 },
      grid: { method: 'lora', lora_ranks: 8, seeds: [1, 1] },
    });
    const issues = issuesOf(() => parse(spec));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'grid.seeds', message: expect.stringContaining('already given at training.seed') },
        { path: 'grid.seeds[1]', message: 'duplicate seed 1' },
      ]),
    );
  });

  it('checks that expect rules name trials of the sweep', () => {
    const spec = minimalSpec({
      expect: [
        { best: 'bslora', at_least: 'lora:r8 - 0.5', max_param_share: 0.5 },
        { best: 'bslora:kron', at_least: 'lora:r16' },
        { best: 'bslora', at_least: 'most of lora' },
        { best: 'bslora', at_least: 70, max_param_share: 0.5 },
      ],
    });
    expect(issuesOf(() => parse(spec))).toEqual([
      { path: 'expect[2].at_least', message: expect.stringContaining('"lora:r8 - 0.5"') },
      { path: 'expect[1].best', message: 'matches no trial of this sweep (no bslora kron trial)' },
      { path: 'expect[1].at_least', message: 'matches no trial of this sweep (no lora rank 16 trial)' },
      { path: 'expect[3].max_param_share', message: expect.stringContaining('needs param_reference') },
    ]);
  });

  it('takes a confidence in (0, 1) on mean_acc rules only', () => {
    const ok = parse(minimalSpec({ expect: [{ best: 'bslora', at_least: 'lora:r8', confidence: 0.95 }] }));
    expect(ok.expect![0]!.confidence).toBe(0.95);
    const issues = issuesOf(() =>
      parse(
        minimalSpec({
          expect: [
            { best: 'bslora', at_least: 'lora:r8', confidence: 95 },
            { best: 'bslora', at_least: 70, metric: 'mean_acc_norm', confidence: 0.9 },
          ],
        }),
      ),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'expect[0].confidence', message: expect.stringContaining('95') },
        {
          path: 'expect[1].confidence',
          message: expect.stringContaining('confidence works with metric mean_acc only'),
        },
      ]),
    );
  });
});

describe('parseSweepSpec local references', () => {
  it('keeps a #style suffix on a local data file and checks the file without it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spec-'));
    writeFileSync(join(dir, 'test.json'), '[]');
    const spec = parseSweepSpec(
      toYaml(minimalSpec({ eval_tasks: ['./test.json#mc', 'test.json#llm-adapters', 'builtin:arith/test'] })),
      {
        baseDir: dir,
      },
    );
    expect(spec.eval_tasks).toEqual([
      join(dir, 'test.json#mc'),
      join(dir, 'test.json#llm-adapters'),
      'builtin:arith/test',
    ]);
    const missing = issuesOf(() =>
      parseSweepSpec(toYaml(minimalSpec({ eval_tasks: ['./nope.json#mc'] })), { baseDir: dir }),
    );
    expect(missing).toEqual([{ path: 'eval_tasks[0]', message: expect.stringContaining(join(dir, 'nope.json')) }]);
  });
});
