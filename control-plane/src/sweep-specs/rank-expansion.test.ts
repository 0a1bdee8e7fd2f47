import { describe, expect, it } from 'vitest';

import { expandRank, expandRankGrid } from './rank-expansion.js';

describe('expandRank', () => {
  it.each([
    [16, 0.75, 0.25, { local: 4, intra: 3, inter: 9 }],
    [16, 0.5, 0.5, { local: 8, intra: 4, inter: 4 }],
    [8, 0, 0.5, { local: 8, intra: 0, inter: 0 }],
    [8, 1, 0, { local: 0, intra: 0, inter: 8 }],
    [22, 1, 0.2727272727, { local: 0, intra: 6, inter: 16 }],
    [10, 0.3, 1, { local: 7, intra: 3, inter: 0 }],
  ])('expands R=%d ρ=%d φ=%d', (r, rho, phi, expected) => {
    expect(expandRank(r, rho, phi, r === 22 ? 1e-6 : 0)).toEqual({ ranks: expected });
  });

  it('refuses a ratio that is not a whole number of ranks, blaming sharing_ratio', () => {
    const result = expandRank(8, 0.3, 0.5);
    expect(result).toMatchObject({ field: 'sharing_ratio' });
    expect('message' in result && result.message).toMatch(/2\.4 shared ranks; rounding to 2 gives ρ = 0\.25/);
  });

  it('refuses a fraction that is not a whole number of ranks, blaming intra_fraction', () => {
    expect(expandRank(8, 0.5, 0.3)).toMatchObject({ field: 'intra_fraction' });
  });

  it('accepts rounding within the tolerance', () => {
    expect(expandRank(8, 0.3, 0.5, 0.05)).toEqual({ ranks: { local: 6, intra: 1, inter: 1 } });
  });

  it('never produces a negative part', () => {
    for (let r = 1; r <= 32; r++) {
      for (let i = 0; i <= 20; i++) {
        for (let j = 0; j <= 20; j++) {
          const result = expandRank(r, i / 20, j / 20, 0.5);
          if ('ranks' in result) {
            const { local, intra, inter } = result.ranks;
            expect(Math.min(local, intra, inter)).toBeGreaterThanOrEqual(0);
            expect(local + intra + inter).toBe(r);
          }
        }
      }
    }
  });
});

describe('expandRankGrid', () => {
  it('expands every combination in order and reports the infeasible ones by index', () => {
    const { ranks, failures } = expandRankGrid([8, 16], [0.5, 0.3], [0.5]);
    expect(ranks).toEqual([
      { local: 4, intra: 2, inter: 2 },
      { local: 8, intra: 4, inter: 4 },
    ]);
    expect(failures.map((f) => [f.totalIndex, f.ratioIndex, f.fractionIndex, f.field])).toEqual([
      [0, 1, 0, 'sharing_ratio'],
      [1, 1, 0, 'sharing_ratio'],
    ]);
  });

  it('drops duplicate triples (φ does not matter when nothing is shared)', () => {
    expect(expandRankGrid([8], [0], [0, 0.5, 1]).ranks).toEqual([{ local: 8, intra: 0, inter: 0 }]);
  });
});
