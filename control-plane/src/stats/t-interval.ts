/**
 * The confidence interval of a mean over seeds: Student's t, two-sided. The quantile comes from stdlib
 * (docs/decisions/0008-statistics-library.md); mean and standard deviation from simple-statistics.
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { mean, sampleStandardDeviation } from 'simple-statistics';

/** n, mean, sample standard deviation and the two-sided t interval of the mean at `confidence`. */
export interface MeanInterval {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); null for one value. */
  sd: number | null;
  /** Interval bounds; null when n < 2 (no spread to measure). */
  lo: number | null;
  hi: number | null;
  /** hi − mean; null when n < 2. */
  halfWidth: number | null;
  confidence: number;
}

/** The t quantile for a two-sided interval at `confidence` with `df` degrees of freedom. */
export function tCritical(confidence: number, df: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must lie in (0, 1), got ${confidence}`);
  if (!(df >= 1)) throw new RangeError(`degrees of freedom must be at least 1, got ${df}`);
  return tQuantile(1 - (1 - confidence) / 2, df);
}

/** The t interval of the mean of `values` (e.g. one accuracy per seed); `null` for no values. */
export function meanInterval(values: readonly number[], confidence = 0.95): MeanInterval | null {
  if (values.length === 0) return null;
  const m = mean(values as number[]);
  if (values.length < 2) return { n: 1, mean: m, sd: null, lo: null, hi: null, halfWidth: null, confidence };
  const sd = sampleStandardDeviation(values as number[]);
  const halfWidth = (tCritical(confidence, values.length - 1) * sd) / Math.sqrt(values.length);
  return { n: values.length, mean: m, sd, lo: m - halfWidth, hi: m + halfWidth, halfWidth, confidence };
}
