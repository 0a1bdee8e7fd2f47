import { describe, expect, it } from 'vitest';
import type { TrialRow } from '../store/store.js';
import { trialFixture } from '../sweep-specs/test-fixtures.js';
import { expectVerdictsOf } from './expect-verdicts.js';

function row(name: string, plan: Parameters<typeof trialFixture>[0], total: number, acc: number): TrialRow {
  return {
    trialKey: name,
    name,
    method: plan.method,
    status: 'completed',
    lastError: null,
    reused: false,
    plan: trialFixture({ name, ...plan }),
    result: {
      counts: { total },
      initialLoss: 2,
      finalLoss: 1,
      train: {},
      metrics: { t: { acc, accNorm: acc, n: 10 } },
      adapterSha256: null,
      meanAcc: acc,
      recordedAt: '',
    },
  };
}

const rows = [
  row('lora-r8-s0', { method: 'lora', rank: 8 }, 1000, 0.6),
  row(
    'bslora-slice-2/2/4-s0',
    { method: 'bslora', shareMode: 'slice', ranks: { local: 2, intra: 2, inter: 4 } },
    400,
    0.598,
  ),
];

describe('expectVerdictsOf', () => {
  it('is null without rules', () => {
    expect(expectVerdictsOf({ expect: undefined }, rows)).toEqual({ expect: [], expectPassed: null });
  });

  it('judges the rules on fractions stored as accuracy, in points', () => {
    const out = expectVerdictsOf(
      {
        expect: [
          {
            name: 'close to LoRA',
            best: 'bslora',
            metric: 'mean_acc',
            at_least: 'lora:r8 - 0.5',
            max_param_share: 0.5,
          },
          { name: 'beats LoRA', best: 'bslora', metric: 'mean_acc', at_least: 'lora:r8 + 1' },
        ],
      },
      rows,
    );
    expect(out.expect.map((v) => [v.name, v.passed])).toEqual([
      ['close to LoRA', true],
      ['beats LoRA', false],
    ]);
    expect(out.expectPassed).toBe(false);
    expect(out.expect[1].message).toContain('bslora-slice-2/2/4');
  });
});
