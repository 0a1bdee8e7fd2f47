import { describe, expect, it } from 'vitest';
import { parseSweepSpec } from '../sweep-specs/parse-sweep-spec.js';
import { enumerateTrials } from '../sweep-specs/trial-plan.js';
import { issuesOf, minimalSpec, toYaml } from '../sweep-specs/test-fixtures.js';
import { planSearch } from './search-plan.js';

const searched = (search: Record<string, unknown>, training: Record<string, unknown> = {}, grid?: unknown) =>
  minimalSpec({
    training: { steps: 18, learning_rate: 0.001, batch_size: 4, seq_len: 32, validation_holdout: 64, ...training },
    grid: grid ?? {
      method: ['bslora', 'lora'],
      lora_ranks: [2, 8],
      ranks: [
        { local: 1, intra: 1, inter: 1 },
        { local: 2, intra: 2, inter: 2 },
        { local: 4, intra: 4, inter: 4 },
      ],
    },
    search: { strategy: 'successive_halving', min_steps: 2, ...search },
  });
const parse = (spec: Record<string, unknown>) => parseSweepSpec(toYaml(spec));
const refused = (spec: Record<string, unknown>) => issuesOf(() => parse(spec));

describe('the search block', () => {
  it('plans rungs and buckets from parameter counts known at submit', () => {
    const spec = parse(searched({ eta: 3, budgets: { buckets: 2 } }));
    const { plan, issues } = planSearch(spec, enumerateTrials(spec));
    expect(issues).toEqual([]);
    expect(plan!.rungSteps).toEqual([2, 6, 18]);
    expect(plan!.configs.map((c) => c.config)).toEqual([
      'bslora-slice-1/1/1',
      'bslora-slice-2/2/2',
      'bslora-slice-4/4/4',
      'lora-r2',
      'lora-r8',
    ]);
    // Smaller adapters in the first bucket, larger in the second; each configuration's count is positive.
    const byConfig = new Map(plan!.configs.map((c) => [c.config, c]));
    expect(byConfig.get('bslora-slice-1/1/1')!.bucket).toBe(0);
    expect(byConfig.get('lora-r8')!.bucket).toBe(1);
    expect(plan!.configs.every((c) => c.params > 0)).toBe(true);
  });

  it('defaults eta to 3, max_steps to training.steps and budgets to 3 log-spaced buckets', () => {
    const spec = parse(searched({}));
    const { plan } = planSearch(spec, enumerateTrials(spec));
    expect(plan!.eta).toBe(3);
    expect(plan!.maxSteps).toBe(18);
    expect(plan!.buckets).toHaveLength(3);
  });

  it('refuses eta < 2 at its path', () => {
    expect(refused(searched({ eta: 1 }))).toContainEqual({
      path: 'search.eta',
      message: expect.stringMatching(/>= ?2/),
    });
  });

  it('refuses min_steps > max_steps at its path', () => {
    expect(refused(searched({ min_steps: 30 }))).toContainEqual({
      path: 'search.min_steps',
      message: 'must be <= max_steps (18, from training.steps), got 30',
    });
    expect(refused(searched({ max_steps: 12 }))).toContainEqual(
      expect.objectContaining({
        path: 'search.max_steps',
        message: expect.stringContaining('must equal training.steps (18)'),
      }),
    );
  });

  it('refuses a search without a validation source', () => {
    const spec = searched({});
    delete (spec.training as Record<string, unknown>).validation_holdout;
    expect(refused(spec)).toContainEqual({
      path: 'training.validation_holdout',
      message: expect.stringContaining('a search needs a validation source'),
    });
  });

  it('refuses a bucket with no configuration, at the edge that makes it', () => {
    expect(refused(searched({ budgets: { edges: [1, 2] } }))).toContainEqual({
      path: 'search.budgets.edges[0]',
      message: expect.stringMatching(/^bucket 1 \[0, 1\) has no configuration/),
    });
    expect(refused(searched({ budgets: { buckets: 40 } }))).toContainEqual(
      expect.objectContaining({
        path: 'search.budgets.buckets',
        message: expect.stringContaining('has no configuration'),
      }),
    );
    expect(refused(searched({ budgets: { edges: [5, 3] } }))).toContainEqual(
      expect.objectContaining({ path: 'search.budgets.edges', message: 'must be strictly ascending' }),
    );
  });

  it('refuses base and epochs in a searched grid', () => {
    expect(refused(searched({}, {}, { method: ['base', 'lora'], lora_ranks: [8] }))).toContainEqual(
      expect.objectContaining({ path: 'grid.method[0]' }),
    );
    const epochs = searched({});
    const t = epochs.training as Record<string, unknown>;
    delete t.steps;
    t.epochs = 1;
    expect(refused(epochs)).toContainEqual(expect.objectContaining({ path: 'training.epochs' }));
  });
});
