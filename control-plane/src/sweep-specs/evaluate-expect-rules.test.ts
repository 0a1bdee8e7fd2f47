import { describe, expect, it } from 'vitest';

import { evaluateExpectRules, type ExpectTrialResult } from './evaluate-expect-rules.js';
import { parseExpectTarget, parseTrialSelector } from './expect-rules.js';
import type { SweepSpec } from './sweep-spec.js';

type Rule = NonNullable<SweepSpec['expect']>[number];

function result(
  name: string,
  params: number,
  acc: number | null,
  extra: Partial<ExpectTrialResult> = {},
): ExpectTrialResult {
  const m = /^(bslora|lora|vera|base|peft)-(?:(slice|gate|kron)\d*-(\d+)\/(\d+)\/(\d+)|r(\d+))?/.exec(name)!;
  return {
    name,
    method: m[1] as ExpectTrialResult['method'],
    shareMode: (m[2] as ExpectTrialResult['shareMode']) ?? null,
    ranks: m[3] ? { local: Number(m[3]), intra: Number(m[4]), inter: Number(m[5]) } : null,
    rank: m[1] !== 'peft' && m[6] ? Number(m[6]) : null,
    peftName: m[1] === 'peft' ? name.slice('peft-'.length).replace(/-s\d+$/, '') : null,
    trainableParams: params,
    metrics: { mean_acc: acc },
    ...extra,
  };
}

const RESULTS = [
  result('base-s0', 0, 0.5),
  result('lora-r8-s0', 1000, 0.7),
  result('lora-r8-s1', 1000, 0.72),
  result('bslora-kron256-2/4/16-s0', 300, 0.705),
  result('bslora-kron256-2/4/16-s1', 300, 0.709),
  result('bslora-slice-2/4/16-s0', 600, 0.75),
  result('peft-lokr-r8-s0', 400, 0.69),
  result('peft-fourier.ft_1-s0', 100, 0.6),
];

const rule = (r: Partial<Rule>): Rule =>
  ({ best: 'bslora', metric: 'mean_acc', at_least: 'lora:r8 - 0.5', ...r }) as Rule;

describe('parseExpectTarget and parseTrialSelector', () => {
  it('parses targets and selectors', () => {
    expect(parseExpectTarget('lora:r8 - 0.5')).toEqual({
      kind: 'relative',
      selector: { method: 'lora', rank: 8, shareMode: null, ranks: null, peftName: null },
      offset: -0.5,
    });
    expect(parseExpectTarget('base+5')).toMatchObject({ kind: 'relative', offset: 5 });
    expect(parseExpectTarget(70)).toEqual({ kind: 'value', value: 70 });
    expect(parseExpectTarget('70.5')).toEqual({ kind: 'value', value: 70.5 });
    expect(parseExpectTarget('lora r8')).toBeNull();
    expect(parseTrialSelector('bslora:kron:2/4/16')).toEqual({
      method: 'bslora',
      rank: null,
      shareMode: 'kron',
      ranks: { local: 2, intra: 4, inter: 16 },
      peftName: null,
    });
    expect(parseTrialSelector('qlora')).toBeNull();
  });

  it('parses peft selectors, whose names may hold "-", "." and "_"', () => {
    expect(parseTrialSelector('peft')).toMatchObject({ method: 'peft', peftName: null });
    expect(parseTrialSelector('peft:lokr-r8')).toMatchObject({ method: 'peft', peftName: 'lokr-r8' });
    expect(parseTrialSelector('peft:LoKr')).toBeNull();
    expect(parseExpectTarget('peft:lokr-r8 - 0.5')).toMatchObject({
      kind: 'relative',
      selector: { peftName: 'lokr-r8' },
      offset: -0.5,
    });
    expect(parseExpectTarget('peft:fourier.ft_1')).toMatchObject({
      kind: 'relative',
      selector: { peftName: 'fourier.ft_1' },
      offset: 0,
    });
    expect(parseExpectTarget('lora:r8-0.5')).toMatchObject({ kind: 'relative', offset: -0.5 });
  });
});

describe('evaluateExpectRules', () => {
  it('passes when the best BSLoRA within the parameter budget reaches LoRA r8 minus the offset', () => {
    const [v] = evaluateExpectRules([rule({ max_param_share: 0.5 })], RESULTS);
    // lora:r8 seed mean 71.0 → target 70.5; slice (60 % params) is excluded; kron mean 70.7.
    expect(v).toMatchObject({
      passed: true,
      target: 70.5,
      best: { config: 'bslora-kron256-2/4/16', paramShare: 0.3 },
    });
    expect(v!.best!.value).toBeCloseTo(70.7);
    expect(v!.message).toMatch(/bslora-kron256-2\/4\/16 .*>= target 70\.50 \(lora-r8 71\.00 - 0\.5\)/);
  });

  it('fails when the budget leaves only worse configurations', () => {
    const [v] = evaluateExpectRules([rule({ at_least: 'lora:r8', max_param_share: 0.5 })], RESULTS);
    expect(v).toMatchObject({ passed: false, target: 71 });
  });

  it('lets every configuration compete without a budget', () => {
    const [v] = evaluateExpectRules([rule({ at_least: 'lora:r8 + 3' })], RESULTS);
    expect(v).toMatchObject({ passed: true, best: { config: 'bslora-slice-2/4/16', paramShare: null } });
  });

  it('compares with a fixed number of points, and with points-scaled results', () => {
    expect(evaluateExpectRules([rule({ at_least: 74 })], RESULTS)[0]!.passed).toBe(true);
    const points = RESULTS.map((r) => ({ ...r, metrics: { mean_acc: r.metrics.mean_acc! * 100 } }));
    expect(evaluateExpectRules([rule({ at_least: 76 })], points, { metricScale: 'points' })[0]!.passed).toBe(false);
  });

  it('judges against a peft entry by its name', () => {
    const [v] = evaluateExpectRules([rule({ at_least: 'peft:lokr-r8 + 1' })], RESULTS);
    // best bslora 75.0 >= lokr 69.0 + 1; fourier.ft_1 (60.0) is not the reference.
    expect(v).toMatchObject({ passed: true, target: 70 });
    const [w] = evaluateExpectRules([rule({ best: 'peft', at_least: 'lora:r8' })], RESULTS);
    expect(w).toMatchObject({ passed: false, best: { config: 'peft-lokr-r8' } });
  });

  it('fails, saying so, when the reference has no result', () => {
    const [v] = evaluateExpectRules(
      [rule({})],
      RESULTS.filter((r) => r.method !== 'lora'),
    );
    expect(v).toMatchObject({ passed: false, message: 'no result for the reference lora:r8 - 0.5' });
  });
});

describe('rules with confidence', () => {
  // Intervals as fractions; the judge turns them into points.
  const intervals = {
    mean: (config: string) =>
      config === 'bslora-kron256-2/4/16'
        ? { mean: 0.707, lo: 0.682, hi: 0.732 }
        : { error: '1 seed, an interval needs at least 2' },
    difference: (candidate: string, reference: string) =>
      reference !== 'lora-r8'
        ? { error: 'unexpected reference' }
        : candidate === 'bslora-kron256-2/4/16'
          ? { mean: -0.003, lo: -0.004, hi: -0.002 }
          : { mean: 0.04, lo: -0.01, hi: 0.09 },
  };

  it('holds a relative target only when the lower bound of the paired difference meets the offset', () => {
    const [v] = evaluateExpectRules([rule({ at_least: 'lora:r8 - 0.5', confidence: 0.95 })], RESULTS, { intervals });
    // kron: reference 71.00 + lower bound -0.40 = 70.60 ≥ 70.50, the best lower bound (slice reaches 70.00).
    expect(v).toMatchObject({ passed: true, best: { config: 'bslora-kron256-2/4/16' } });
    expect(v!.message).toContain('paired difference to lora-r8 -0.30 [-0.40, -0.20] at 95.00%');
    expect(v!.message).toContain('lower bound -0.40 >= -0.50');
    const [strict] = evaluateExpectRules([rule({ at_least: 'lora:r8 + 0', confidence: 0.95 })], RESULTS, {
      intervals,
    });
    expect(strict!.passed).toBe(false);
    expect(strict!.message).toContain('not beyond the noise');
    // Without confidence the same rule passes on the seed means (slice 75.00 ≥ 71.00).
    expect(evaluateExpectRules([rule({ at_least: 'lora:r8 + 0' })], RESULTS)[0]!.passed).toBe(true);
  });

  it('judges a number by the lower bound of the t interval, and says why a configuration has none', () => {
    const [v] = evaluateExpectRules([rule({ best: 'bslora:kron', at_least: 68, confidence: 0.95 })], RESULTS, {
      intervals,
    });
    expect(v).toMatchObject({ passed: true });
    expect(v!.message).toContain('lower bound 68.20 >= target 68.00');
    const [none] = evaluateExpectRules([rule({ best: 'bslora:slice', at_least: 68, confidence: 0.95 })], RESULTS, {
      intervals,
    });
    expect(none).toMatchObject({ passed: false });
    expect(none!.message).toContain('bslora-slice-2/4/16: 1 seed, an interval needs at least 2');
  });

  it('fails, saying so, when no intervals are given', () => {
    const [v] = evaluateExpectRules([rule({ confidence: 0.9 })], RESULTS);
    expect(v).toMatchObject({ passed: false, message: 'no intervals are available to judge at 90.00% confidence' });
  });
});
