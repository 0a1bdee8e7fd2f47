/**
 * Budget buckets of a successive-halving search: configurations grouped by trainable-parameter count, so that each
 * budget keeps its own best (a search across all budgets at once would keep only the largest adapters, which lose
 * nothing to the small ones on validation loss). Pure: counts in, buckets out.
 *
 * - `{buckets: n}`: n buckets log-spaced between the smallest and the largest count (both included).
 * - `{edges: [e1, …, ek]}`: k + 1 buckets, (0, e1), [e1, e2), …, [ek, ∞), edges ascending.
 * A bucket that holds no configuration is a mistake in the spec (an edge in the wrong place, too many buckets), not
 * something to skip silently: `emptyBuckets` names each.
 */

export type BudgetsSetting = { buckets: number } | { edges: number[] };

export interface Bucket {
  /** Index, from the smallest budget. */
  index: number;
  /** Lower bound (included) and upper bound (excluded; the last log-spaced bucket includes it) in parameters. */
  low: number;
  high: number;
}

/** The buckets of a setting over these counts (positive numbers; at least one). */
export function bucketsOf(setting: BudgetsSetting, counts: readonly number[]): Bucket[] {
  if ('edges' in setting) {
    const bounds = [0, ...setting.edges, Number.POSITIVE_INFINITY];
    return bounds.slice(0, -1).map((low, index) => ({ index, low, high: bounds[index + 1]! }));
  }
  const lo = Math.min(...counts);
  const hi = Math.max(...counts);
  const n = setting.buckets;
  const ratio = hi / lo;
  return Array.from({ length: n }, (_, index) => ({
    index,
    low: index === 0 ? lo : lo * ratio ** (index / n),
    high: index === n - 1 ? Number.POSITIVE_INFINITY : lo * ratio ** ((index + 1) / n),
  }));
}

/** The bucket index of a count. */
export function bucketOf(buckets: readonly Bucket[], count: number): number {
  const found = buckets.findIndex((b) => count >= b.low && count < b.high);
  return found === -1 ? (count < buckets[0]!.low ? 0 : buckets.length - 1) : found;
}

/** The buckets no count falls into. */
export function emptyBuckets(buckets: readonly Bucket[], counts: readonly number[]): Bucket[] {
  const used = new Set(counts.map((c) => bucketOf(buckets, c)));
  return buckets.filter((b) => !used.has(b.index));
}

/** `[1.2M, 3.4M)` for messages and tables. */
export function describeBucket(b: Bucket): string {
  const f = (n: number) =>
    !Number.isFinite(n)
      ? '∞'
      : n >= 1e6
        ? `${+(n / 1e6).toPrecision(3)}M`
        : n >= 1e3
          ? `${+(n / 1e3).toPrecision(3)}k`
          : `${Math.round(n)}`;
  return `[${f(b.low)}, ${f(b.high)})`;
}
