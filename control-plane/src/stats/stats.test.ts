/**
 * The statistics against reference values computed independently with SciPy 1.17.1 and NumPy 2.4.6 in the
 * project's .venv. The script that produced them, run as `.venv/bin/python <script>`:
 *
 *   import numpy as np
 *   from scipy import stats
 *   for df in (1, 2, 4, 9, 29): print(df, stats.t.ppf(0.975, df), stats.t.ppf(0.95, df))
 *   vals = [0.81, 0.795, 0.83]; m = np.mean(vals); sd = np.std(vals, ddof=1)
 *   h = stats.t.ppf(0.975, 2) * sd / np.sqrt(3); print(m, sd, m - h, m + h)
 *   # The paired bootstrap written against NumPy's MT19937 (RandomState(12).random_sample), the same draws in
 *   # the same order (per replicate, per task: items, candidate seeds, reference seeds), np.quantile (linear):
 *   def data(n, s, a, b, c): return np.array([1 if (i * a + s * b) % 10 < c else 0 for i in range(n)])
 *   tasks = [([data(40, s, 7, 3, 7) for s in range(3)], [data(40, s, 5, 1, 6) for s in range(3)]),
 *            ([data(25, s, 3, 1, 5) for s in range(3)], [data(25, s, 3, 2, 5) for s in range(2)])]
 *   rs = np.random.RandomState(12); diffs = []
 *   for _ in range(2000):
 *       tot = 0.0
 *       for cand, ref in tasks:
 *           n = len(cand[0]); items = np.floor(rs.random_sample(n) * n).astype(int)
 *           cs = np.floor(rs.random_sample(len(cand)) * len(cand)).astype(int)
 *           rf = np.floor(rs.random_sample(len(ref)) * len(ref)).astype(int)
 *           tot += np.mean([cand[s][items].mean() for s in cs]) - np.mean([ref[s][items].mean() for s in rf])
 *       diffs.append(tot / len(tasks))
 *   print(np.mean([np.mean(c) - np.mean(r) for c, r in tasks]), np.quantile(diffs, 0.025), np.quantile(diffs, 0.975))
 */
import { describe, expect, it } from 'vitest';
import { meanInterval, tCritical } from './t-interval.js';
import { pairedBootstrap } from './paired-bootstrap.js';
import { packItemBits, unpackItemBits } from './item-bits.js';

const close = (a: number | null, b: number, digits = 12) => expect(a).toBeCloseTo(b, digits);

describe('t quantiles', () => {
  const scipy: [number, number, number][] = [
    [1, 12.706204736174694, 6.313751514675037],
    [2, 4.302652729749462, 2.9199855803537242],
    [4, 2.7764451051977934, 2.1318467863266495],
    [9, 2.262157162798205, 1.833112932656237],
    [29, 2.045229642132703, 1.6991270265334972],
  ];
  it.each(scipy)('df %i equals scipy.stats.t.ppf', (df, q975, q95) => {
    close(tCritical(0.95, df), q975);
    close(tCritical(0.9, df), q95);
  });
  it('refuses a confidence outside (0, 1) and df below 1', () => {
    expect(() => tCritical(1, 3)).toThrow(/confidence must lie in \(0, 1\), got 1/);
    expect(() => tCritical(0.95, 0)).toThrow(/at least 1, got 0/);
  });
});

describe('meanInterval', () => {
  it('matches the scipy t interval of three seeds', () => {
    const r = meanInterval([0.81, 0.795, 0.83])!;
    expect(r.n).toBe(3);
    close(r.mean, 0.8116666666666666);
    close(r.sd, 0.017559422921421187);
    close(r.lo, 0.7680466419909912);
    close(r.hi, 0.8552866913423421);
    close(r.halfWidth, 0.8552866913423421 - 0.8116666666666666);
  });
  it('has no interval for one seed and nothing for none', () => {
    expect(meanInterval([0.8])).toMatchObject({ n: 1, mean: 0.8, sd: null, lo: null, hi: null });
    expect(meanInterval([])).toBeNull();
  });
});

describe('pairedBootstrap', () => {
  const data = (n: number, s: number, a: number, b: number, c: number) =>
    Uint8Array.from({ length: n }, (_, i) => ((i * a + s * b) % 10 < c ? 1 : 0));
  const seeds = (k: number, f: (s: number) => Uint8Array) => Array.from({ length: k }, (_, s) => f(s));
  const tasks = [
    { candidate: seeds(3, (s) => data(40, s, 7, 3, 7)), reference: seeds(3, (s) => data(40, s, 5, 1, 6)) },
    { candidate: seeds(3, (s) => data(25, s, 3, 1, 5)), reference: seeds(2, (s) => data(25, s, 3, 2, 5)) },
  ];

  it('equals the NumPy reimplementation draw for draw', () => {
    const r = pairedBootstrap(tasks, { seed: 12, replicates: 2000 });
    close(r.mean, 0.023333333333333317);
    close(r.lo, -0.13422916666666665);
    close(r.hi, 0.1850208333333333);
    expect(r).toMatchObject({ items: 65, seeds: { candidate: 3, reference: 2 }, replicates: 2000, confidence: 0.95 });
  });

  it('is deterministic for a seed and changes with it', () => {
    expect(pairedBootstrap(tasks)).toEqual(pairedBootstrap(tasks));
    expect(pairedBootstrap(tasks, { seed: 13 }).lo).not.toBe(pairedBootstrap(tasks, { seed: 12 }).lo);
  });

  it('gives a zero-width interval for one identical run and a wider one at higher confidence', () => {
    const one = tasks[0]!.candidate.slice(0, 1);
    const same = pairedBootstrap([{ candidate: one, reference: one }]);
    expect([same.lo, same.hi]).toEqual([0, 0]);
    expect(same.mean).toBe(0);
    const r95 = pairedBootstrap(tasks, { confidence: 0.95 });
    const r99 = pairedBootstrap(tasks, { confidence: 0.99 });
    expect(r99.lo).toBeLessThan(r95.lo);
    expect(r99.hi).toBeGreaterThan(r95.hi);
  });

  it('refuses vectors of different lengths, naming the task', () => {
    expect(() => pairedBootstrap([{ candidate: [data(10, 0, 1, 1, 5)], reference: [data(11, 0, 1, 1, 5)] }])).toThrow(
      /task 0/,
    );
    expect(() => pairedBootstrap([{ candidate: [], reference: [data(11, 0, 1, 1, 5)] }])).toThrow(
      /task 0: a side has no seeds/,
    );
  });
});

describe('item bits', () => {
  it('round-trips, least significant bit first', () => {
    const bits = [1, 0, 1, 1, 0, 0, 0, 0, 1, 1];
    const packed = packItemBits(bits);
    expect(Array.from(packed)).toEqual([0b00001101, 0b00000011]);
    expect(Array.from(unpackItemBits(packed, 10))).toEqual(bits);
  });
  it('refuses a count the bytes cannot hold', () => {
    expect(() => unpackItemBits(new Uint8Array(1), 9)).toThrow(/1 bytes cannot hold exactly 9 items/);
  });
});
