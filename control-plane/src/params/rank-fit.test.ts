import { describe, expect, it } from 'vitest';
import { parseSweepSpec } from '../sweep-specs/parse-sweep-spec.js';
import { issuesOf, minimalSpec, toYaml } from '../sweep-specs/test-fixtures.js';
import { rankLimit } from './rank-fit.js';

const parse = (spec: Record<string, unknown>) => parseSweepSpec(toYaml(spec));

describe('ranks against the model shapes', () => {
  it('takes the smallest dimension of the targeted projections of a known model', () => {
    // SmolLM2-135M: hidden 576, 3 of 9 heads for keys and values, so v_proj is 576 x 192.
    expect(rankLimit('builtin:smollm2-135m', ['q_proj', 'v_proj'])).toEqual({
      max: 192,
      module: 'model.layers.0.self_attn.v_proj',
      fanIn: 576,
      fanOut: 192,
    });
    expect(rankLimit('meta-llama/Llama-2-7b-hf', ['q_proj', 'down_proj'])?.max).toBe(4096);
    // Unknown here: a worker checks them.
    expect(rankLimit('someone/some-model', ['q_proj'])).toBeNull();
    expect(rankLimit('builtin:smollm2-135m', ['c_attn'])).toBeNull();
  });

  it('refuses a LoRA rank above it at submit, at the offending list entry, in the worker words', () => {
    const issues = issuesOf(() =>
      parse(minimalSpec({ base_model: 'builtin:smollm2-135m', grid: { method: ['lora'], lora_ranks: [8, 1000] } })),
    );
    expect(issues).toEqual([
      {
        path: 'grid.lora_ranks[1]',
        message:
          'lora rank 1000 is larger than module model.layers.0.self_attn.v_proj of builtin:smollm2-135m (576 x 192) allows; use at most 192',
      },
    ]);
  });

  it('refuses a BSLoRA local rank above it, at the triple or at the total rank it was computed from', () => {
    const explicit = issuesOf(() =>
      parse(
        minimalSpec({
          grid: {
            method: ['bslora'],
            ranks: [
              { local: 2, intra: 2, inter: 4 },
              { local: 33, intra: 2, inter: 2 },
            ],
          },
        }),
      ),
    );
    // tiny-llama: hidden 64, 2 of 4 heads for keys and values, so v_proj is 64 x 32.
    expect(explicit).toEqual([
      {
        path: 'grid.ranks[1].local',
        message:
          'bslora local rank 33 is larger than module model.layers.0.self_attn.v_proj of builtin:tiny-llama (64 x 32) allows; use at most 32',
      },
    ]);
    const computed = issuesOf(() =>
      parse(
        minimalSpec({
          grid: { method: ['bslora'], total_rank: 400, sharing_ratio: 0.5, intra_fraction: 0.5 },
        }),
      ),
    );
    expect(computed).toHaveLength(1);
    expect(computed[0]!.path).toBe('grid.total_rank');
    expect(computed[0]!.message).toMatch(/^bslora local rank \d+ is larger than module .* allows; use at most 32$/);
  });

  it('accepts ranks up to the limit, and any rank of a model it does not know', () => {
    expect(() =>
      parse(
        minimalSpec({
          grid: { method: ['lora', 'bslora'], lora_ranks: [32], ranks: [{ local: 32, intra: 0, inter: 2 }] },
        }),
      ),
    ).not.toThrow();
    expect(() =>
      parse(minimalSpec({ base_model: 'someone/some-model', grid: { method: ['lora'], lora_ranks: [4096] } })),
    ).not.toThrow();
  });
});
