/**
 * The paired difference of two configurations on the same eval items, with a bootstrap interval over items and
 * seeds.
 *
 * Each configuration has, per eval task, one 0/1 correctness vector per seed over the same items in the same order.
 * One bootstrap replicate draws, per task, the items with replacement (the same draw for both configurations: that
 * is the pairing) and, independently for each configuration, its seeds with replacement (seeds are separate
 * training runs, not paired); the replicate's difference is the mean over tasks of (mean accuracy of the candidate
 * on the drawn items over its drawn seeds − the same for the reference). The interval is the percentile interval
 * of the replicates. Resampling is simple-statistics' `sampleWithReplacement`, driven by stdlib's seeded MT19937, so
 * the same inputs and seed give the same interval on every run (docs/decisions/0008-statistics-library.md).
 */
import mt19937 from '@stdlib/random-base-mt19937';
import { quantileSorted, sampleWithReplacement } from 'simple-statistics';

/** One configuration's correctness on one task: one 0/1 vector per seed, all of the task's length. */
export type SeedItems = readonly Uint8Array[];

export interface PairedDifference {
  /** Candidate minus reference, accuracy as a fraction (mean over tasks of the per-task differences). */
  mean: number;
  lo: number;
  hi: number;
  confidence: number;
  /** Items per task, and seeds of each side. */
  items: number;
  seeds: { candidate: number; reference: number };
  replicates: number;
}

export interface BootstrapOptions {
  confidence?: number;
  replicates?: number;
  /** MT19937 seed (a positive 32-bit integer). */
  seed?: number;
}

export const DEFAULT_REPLICATES = 2000;
export const DEFAULT_BOOTSTRAP_SEED = 12;

const fullMean = (rows: SeedItems): number => {
  let correct = 0;
  let n = 0;
  for (const row of rows) for (const v of row) (correct += v), n++;
  return correct / n;
};

/** A task's seeds laid out item-major (`[item * seeds + seed]`), so one drawn item reads one contiguous run. */
function itemMajor(rows: SeedItems): Uint8Array {
  const seeds = rows.length;
  const n = rows[0]!.length;
  const out = new Uint8Array(n * seeds);
  rows.forEach((row, s) => {
    for (let i = 0; i < n; i++) out[i * seeds + s] = row[i]!;
  });
  return out;
}

/**
 * The paired difference candidate − reference over `tasks` (each `[candidate seeds, reference seeds]`), with its
 * percentile bootstrap interval. Throws when a task's vectors differ in length or a side has no seeds.
 */
export function pairedBootstrap(
  tasks: readonly { candidate: SeedItems; reference: SeedItems }[],
  options: BootstrapOptions = {},
): PairedDifference {
  const confidence = options.confidence ?? 0.95;
  const replicates = options.replicates ?? DEFAULT_REPLICATES;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must lie in (0, 1), got ${confidence}`);
  if (tasks.length === 0) throw new RangeError('no tasks to compare');
  for (const [k, t] of tasks.entries()) {
    if (t.candidate.length === 0 || t.reference.length === 0) throw new RangeError(`task ${k}: a side has no seeds`);
    const n = t.candidate[0]!.length;
    if (n === 0 || [...t.candidate, ...t.reference].some((row) => row.length !== n)) {
      throw new RangeError(`task ${k}: the correctness vectors are not all of one non-zero length`);
    }
  }
  // The generator carries `normalized()` (uniform on [0, 1) with 53-bit resolution, as its README documents); the
  // package's typings leave it off the factory's return type.
  const rng = mt19937.factory({ seed: options.seed ?? DEFAULT_BOOTSTRAP_SEED }) as unknown as { normalized(): number };
  const random = () => rng.normalized();
  const prepared = tasks.map((t) => {
    const n = t.candidate[0]!.length;
    return {
      n,
      a: itemMajor(t.candidate),
      b: itemMajor(t.reference),
      sa: t.candidate.length,
      sb: t.reference.length,
      sumA: new Float64Array(t.candidate.length),
      sumB: new Float64Array(t.reference.length),
      items: Array.from({ length: n }, (_, i) => i),
      seedsA: Array.from({ length: t.candidate.length }, (_, i) => i),
      seedsB: Array.from({ length: t.reference.length }, (_, i) => i),
    };
  });
  const diffs = new Float64Array(replicates);
  for (let r = 0; r < replicates; r++) {
    let sum = 0;
    for (const p of prepared) {
      // Draws in a fixed order: the items (shared by both sides), the candidate's seeds, the reference's seeds.
      const items = sampleWithReplacement(p.items, p.n, random);
      p.sumA.fill(0);
      p.sumB.fill(0);
      for (const i of items) {
        const oa = i * p.sa;
        const ob = i * p.sb;
        for (let s = 0; s < p.sa; s++) p.sumA[s]! += p.a[oa + s]!;
        for (let s = 0; s < p.sb; s++) p.sumB[s]! += p.b[ob + s]!;
      }
      let accA = 0;
      for (const s of sampleWithReplacement(p.seedsA, p.sa, random)) accA += p.sumA[s]!;
      let accB = 0;
      for (const s of sampleWithReplacement(p.seedsB, p.sb, random)) accB += p.sumB[s]!;
      sum += accA / (p.sa * p.n) - accB / (p.sb * p.n);
    }
    diffs[r] = sum / prepared.length;
  }
  const sorted = Array.from(diffs).sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return {
    mean: tasks.reduce((s, t) => s + fullMean(t.candidate) - fullMean(t.reference), 0) / tasks.length,
    lo: quantileSorted(sorted, alpha),
    hi: quantileSorted(sorted, 1 - alpha),
    confidence,
    items: tasks.reduce((s, t) => s + t.candidate[0]!.length, 0),
    seeds: {
      candidate: Math.min(...tasks.map((t) => t.candidate.length)),
      reference: Math.min(...tasks.map((t) => t.reference.length)),
    },
    replicates,
  };
}
