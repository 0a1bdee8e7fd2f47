/**
 * Expansion of a total rank R, a sharing ratio ρ and an intra fraction φ into integer BSLoRA rank triples.
 *
 * ```
 * shared = round(ρ · R)          ρ = (r_intra + r_inter) / R
 * intra  = round(φ · shared)     φ = r_intra / (r_intra + r_inter)
 * inter  = shared − intra
 * local  = R − shared
 * ```
 *
 * `round` is round-half-up. A combination is refused, not silently rounded, when the realised ratio
 * `shared / R` differs from ρ, or the realised fraction `intra / shared` differs from φ, by more than
 * `ratioTolerance` (default 0: the products must be whole numbers). When `shared` is 0, φ has nothing to split and
 * is not checked. No part can come out negative, because 0 ≤ ρ, φ ≤ 1.
 */

/** One BSLoRA rank triple. */
export interface RankTriple {
  local: number;
  intra: number;
  inter: number;
}

/** A (R, ρ, φ) combination that cannot be expanded within the tolerance. */
export interface RankExpansionFailure {
  /** Indexes into the `total_rank`, `sharing_ratio` and `intra_fraction` lists. */
  totalIndex: number;
  ratioIndex: number;
  fractionIndex: number;
  /** Which axis the failure is blamed on. */
  field: 'sharing_ratio' | 'intra_fraction';
  message: string;
}

/** The result of {@link expandRankGrid}. */
export interface RankExpansion {
  /** Feasible triples in order (R outermost, then ρ, then φ), duplicates dropped. */
  ranks: RankTriple[];
  failures: RankExpansionFailure[];
}

/** Slack for floating-point products such as 0.3 · 10. */
const EPSILON = 1e-9;

function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5 + EPSILON);
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(6)));
}

/**
 * Expands one (R, ρ, φ) combination; returns the triple, or a message saying why it is infeasible.
 *
 * @example
 * expandRank(16, 0.75, 0.25) // → { local: 4, intra: 3, inter: 9 }
 */
export function expandRank(
  totalRank: number,
  sharingRatio: number,
  intraFraction: number,
  ratioTolerance = 0,
): { ranks: RankTriple } | { field: 'sharing_ratio' | 'intra_fraction'; message: string } {
  const shared = roundHalfUp(sharingRatio * totalRank);
  const realisedRatio = shared / totalRank;
  if (Math.abs(realisedRatio - sharingRatio) > ratioTolerance + EPSILON) {
    return {
      field: 'sharing_ratio',
      message:
        `total_rank ${totalRank} × sharing_ratio ${fmt(sharingRatio)} = ${fmt(sharingRatio * totalRank)} shared ranks; ` +
        `rounding to ${shared} gives ρ = ${fmt(realisedRatio)}, off by more than ratio_tolerance ${fmt(ratioTolerance)}`,
    };
  }
  const intra = roundHalfUp(intraFraction * shared);
  if (shared > 0) {
    const realisedFraction = intra / shared;
    if (Math.abs(realisedFraction - intraFraction) > ratioTolerance + EPSILON) {
      return {
        field: 'intra_fraction',
        message:
          `intra_fraction ${fmt(intraFraction)} × ${shared} shared ranks (R ${totalRank}, ρ ${fmt(sharingRatio)}) = ` +
          `${fmt(intraFraction * shared)}; rounding to ${intra} gives φ = ${fmt(realisedFraction)}, ` +
          `off by more than ratio_tolerance ${fmt(ratioTolerance)}`,
      };
    }
  }
  return { ranks: { local: totalRank - shared, intra, inter: shared - intra } };
}

/** Expands every (R, ρ, φ) combination of the three lists; see the module comment for the rule. */
export function expandRankGrid(
  totalRanks: readonly number[],
  sharingRatios: readonly number[],
  intraFractions: readonly number[],
  ratioTolerance = 0,
): RankExpansion {
  const ranks: RankTriple[] = [];
  const failures: RankExpansionFailure[] = [];
  const seen = new Set<string>();
  totalRanks.forEach((total, totalIndex) => {
    sharingRatios.forEach((ratio, ratioIndex) => {
      intraFractions.forEach((fraction, fractionIndex) => {
        const result = expandRank(total, ratio, fraction, ratioTolerance);
        if ('ranks' in result) {
          const id = `${result.ranks.local}/${result.ranks.intra}/${result.ranks.inter}`;
          if (!seen.has(id)) {
            seen.add(id);
            ranks.push(result.ranks);
          }
        } else {
          failures.push({ totalIndex, ratioIndex, fractionIndex, field: result.field, message: result.message });
        }
      });
    });
  });
  return { ranks, failures };
}
