import { describe, expect, it } from 'vitest';
import { bucketOf, bucketsOf, describeBucket, emptyBuckets } from './budget-buckets.js';

describe('budget buckets', () => {
  it('log-spaces n buckets between the smallest and the largest count, both included', () => {
    const counts = [1_000, 10_000, 100_000];
    const buckets = bucketsOf({ buckets: 2 }, counts);
    expect(buckets.map((b) => b.low)).toEqual([1_000, expect.closeTo(10_000, 6)]);
    expect(buckets[1]!.high).toBe(Number.POSITIVE_INFINITY);
    expect(counts.map((c) => bucketOf(buckets, c))).toEqual([0, 1, 1]);
    expect(bucketOf(buckets, 9_999)).toBe(0);
  });

  it('groups by given edges: below the first, between, from the last on', () => {
    const buckets = bucketsOf({ edges: [500_000, 1_000_000] }, []);
    expect(buckets).toHaveLength(3);
    expect([100, 500_000, 999_999, 1_000_000, 5e9].map((c) => bucketOf(buckets, c))).toEqual([0, 1, 1, 2, 2]);
    expect(describeBucket(buckets[1]!)).toBe('[500k, 1M)');
    expect(describeBucket(buckets[2]!)).toBe('[1M, ∞)');
  });

  it('names every bucket no configuration falls into', () => {
    const counts = [100, 200, 5_000];
    const empty = emptyBuckets(bucketsOf({ edges: [1_000, 2_000] }, counts), counts);
    expect(empty.map((b) => b.index)).toEqual([1]);
    expect(emptyBuckets(bucketsOf({ buckets: 1 }, [7]), [7])).toEqual([]);
  });
});
