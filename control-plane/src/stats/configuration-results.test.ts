import { describe, expect, it } from 'vitest';
import type { TaskItems } from '../store/item-correctness.js';
import type { TrialRow } from '../store/store.js';
import type { Trial } from '../sweep-specs/index.js';
import { trialFixture } from '../sweep-specs/test-fixtures.js';
import { configurationKey, configurationResults, formatDifference, formatInterval } from './configuration-results.js';
import { packItemBits } from './item-bits.js';

/** A trial of `method` (rank 8, or the given BSLoRA ranks); `memo` tells otherwise equal configurations apart. */
const plan = (
  method: 'lora' | 'bslora',
  extra: { memo?: number; ranks?: { local: number; intra: number; inter: number } } & Record<string, unknown> = {},
  seed = 0,
): Trial => {
  const t = trialFixture({
    key: `${method}-${JSON.stringify(extra)}-${seed}`,
    name: `${method}-s${seed}`,
    method,
    ranks: extra.ranks,
    seed,
  });
  return extra.memo === undefined ? t : { ...t, targetModules: [...t.targetModules, `memo${extra.memo}`] };
};

function row(p: Trial, name: string, total: number, accs: number[] | null): TrialRow {
  const metrics = accs ? Object.fromEntries(accs.map((a, k) => [`t${k}`, { acc: a, accNorm: a, n: 10 }])) : null;
  return {
    trialKey: p.trialKey,
    name,
    method: p.method!.$case,
    status: accs ? 'completed' : 'queued',
    lastError: null,
    reused: false,
    plan: p,
    result: accs
      ? {
          counts: { total },
          initialLoss: 1,
          finalLoss: 1,
          train: {},
          metrics,
          meanAcc: accs.reduce((a, b) => a + b) / accs.length,
          adapterSha256: null,
          recordedAt: '',
        }
      : null,
  };
}

describe('configurationKey', () => {
  it('ignores the seed, key, name and checkpoint interval, and nothing else', () => {
    const a = plan('lora', {}, 0);
    expect(configurationKey(plan('lora', {}, 1))).toBe(configurationKey(a));
    expect(configurationKey({ ...a, training: { ...a.training!, checkpointEvery: 5 } })).toBe(configurationKey(a));
    expect(configurationKey(trialFixture({ key: 'x', method: 'lora', rank: 16 }))).not.toBe(configurationKey(a));
    expect(configurationKey({ ...a, training: { ...a.training!, length: { $case: 'steps', value: 4 } } })).not.toBe(
      configurationKey(a),
    );
  });
});

describe('configurationResults', () => {
  it('averages seeds per task and over tasks, counts planned seeds, and says why a difference is missing', () => {
    const rows = [
      row(plan('lora', {}, 0), 'lora-r8-s0', 100, [0.5, 0.7]),
      row(plan('lora', {}, 1), 'lora-r8-s1', 100, [0.7, 0.9]),
      row(plan('lora', {}, 2), 'lora-r8-s2', 100, null),
      row(
        plan('bslora', { rank: null, ranks: { local: 2, intra: 1, inter: 1 }, shareMode: 'slice' }, 0),
        'bslora-slice-2/1/1-s0',
        50,
        [0.6, 0.6],
      ),
    ];
    const r = configurationResults(rows, new Map());
    const lora = r.configurations.find((c) => c.name === 'lora-r8')!;
    expect(lora).toMatchObject({ seeds: [0, 1], planned: 3, trainable: 100 });
    expect(lora.tasks.t0).toMatchObject({ n: 2, mean: 0.6 });
    expect(lora.mean!.mean).toBeCloseTo(0.7, 12);
    const bs = r.configurations.find((c) => c.name === 'bslora-slice-2/1/1')!;
    expect(bs).toMatchObject({ sharingRatio: 0.5, intraFraction: 0.5, mean: { n: 1, lo: null, halfWidth: null } });
    expect(r.reference).toBe('lora-r8');
    expect(bs.vsReference).toMatchObject({ versus: 'lora-r8', mean: null, reason: 'no per-item results for t0' });
    // Without item bits the front falls back to the seed intervals: one seed has none, so its gain is noise.
    expect(bs.onFront).toBe(true);
    expect(lora.frontNoise).toMatchObject({ versus: 'bslora-slice-2/1/1', diff: null, withinNoise: true });
    expect(formatInterval(bs.mean)).toBe('60.0 (1)');
    expect(formatInterval(lora.mean)).toMatch(/^70\.0 ± \d+\.\d \(2\)$/);
  });

  it('refuses to pair tasks scored on different numbers of items', () => {
    const a = plan('lora', {}, 0);
    const b = plan('bslora', { rank: null, ranks: { local: 1, intra: 1, inter: 1 }, shareMode: 'slice' }, 0);
    const items = new Map<string, Map<string, TaskItems>>([
      [a.trialKey, new Map([['t0', { n: 10, bits: packItemBits(new Array(10).fill(1)) }]])],
      [b.trialKey, new Map([['t0', { n: 12, bits: packItemBits(new Array(12).fill(1)) }]])],
    ]);
    const r = configurationResults([row(a, 'lora-r8-s0', 100, [1]), row(b, 'bslora-slice-1/1/1-s0', 50, [1])], items);
    expect(r.configurations[1]!.vsReference!.reason).toBe('t0 was scored on different numbers of items');
  });

  it('formats a difference in points', () => {
    expect(
      formatDifference({
        mean: 0.015,
        lo: -0.008,
        hi: 0.039,
        confidence: 0.95,
        items: 1,
        seeds: { candidate: 1, reference: 1 },
        replicates: 1,
      }),
    ).toBe('+1.5 [-0.8, +3.9]');
    expect(formatDifference(null)).toBe('-');
  });
});

describe('remembered comparisons', () => {
  it('computes a comparison again once the item bits are there (an incomplete one is not kept)', () => {
    const a = plan('lora', { memo: 1 }, 0);
    const b = plan('bslora', { memo: 1, rank: null, ranks: { local: 1, intra: 1, inter: 1 }, shareMode: 'slice' }, 0);
    const rows = [row(a, 'lora-r8-s0', 100, [0.5]), row(b, 'bslora-slice-1/1/1-s0', 50, [1])];
    expect(configurationResults(rows, new Map()).configurations[1]!.vsReference!.reason).toBe(
      'no per-item results for t0',
    );
    const items = new Map<string, Map<string, TaskItems>>([
      [a.trialKey, new Map([['t0', { n: 10, bits: packItemBits([1, 1, 1, 1, 1, 0, 0, 0, 0, 0]) }]])],
      [b.trialKey, new Map([['t0', { n: 10, bits: packItemBits(new Array(10).fill(1)) }]])],
    ]);
    const done = configurationResults(rows, items).configurations[1]!.vsReference!;
    expect(done.reason).toBeNull();
    expect(done.mean!.mean).toBeCloseTo(0.5, 12);
    expect(configurationResults(rows, items).configurations[1]!.vsReference!.mean).toEqual(done.mean);
  });
});
