import { describe, expect, it } from 'vitest';
import { plannedSearchSteps, rungSteps, selectSurvivors, survivorsOf } from './rungs.js';

describe('rungs', () => {
  it('multiplies by eta from min_steps and ends at max_steps', () => {
    expect(rungSteps(2, 18, 3)).toEqual([2, 6, 18]);
    expect(rungSteps(3, 20, 3)).toEqual([3, 9, 20]);
    expect(rungSteps(5, 5, 2)).toEqual([5]);
    expect(rungSteps(1, 10, 2)).toEqual([1, 2, 4, 8, 10]);
  });

  it('keeps the best floor(n / eta) of each bucket by validation loss, at least one', () => {
    expect([0, 1, 2, 3, 5, 9, 10].map((n) => survivorsOf(n, 3))).toEqual([0, 1, 1, 1, 1, 3, 3]);
    const c = (config: string, bucket: number, position: number, validationLoss: number | null) => ({
      config,
      bucket,
      position,
      validationLoss,
    });
    const sel = selectSurvivors(
      [
        c('a', 0, 0, 0.5),
        c('b', 0, 1, 0.3),
        c('c', 0, 2, 0.9),
        c('d', 1, 3, null), // failed: never continues, even alone in first place
        c('e', 1, 4, 1.2),
        c('f', 2, 5, 0.7),
        c('g', 2, 6, 0.7), // a tie goes to the earlier configuration
      ],
      3,
    );
    expect(sel.promoted.sort()).toEqual(['b', 'e', 'f']);
    expect(sel.stopped.sort()).toEqual(['a', 'c', 'd', 'g']);
  });

  it('counts the steps a search needs when no step runs twice', () => {
    // 9 configurations in one bucket, eta 3, rungs 2/6/18: 9·2 + 3·4 + 1·12.
    expect(plannedSearchSteps([9], [2, 6, 18], 3)).toBe(18 + 12 + 12);
    expect(plannedSearchSteps([9, 3], [2, 6, 18], 3)).toBe(42 + (3 * 2 + 1 * 4 + 1 * 12));
  });
});
