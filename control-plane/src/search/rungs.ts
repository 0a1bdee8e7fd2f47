/**
 * The rungs of successive halving and who continues past each one. Pure.
 *
 * Rung steps: min_steps, min_steps · η, min_steps · η², … while below max_steps, then max_steps. Every rung trains
 * the same schedule (that of max_steps) and stops at its step count; the next rung continues from there.
 *
 * Selection, per budget bucket: the best ⌊n / η⌋ configurations (at least one) by validation loss (lower is better;
 * seeds averaged), ties broken by plan order, continue; the others stop. Configurations without a validation loss
 * (their rung training failed) never continue.
 */

/** The step count of each rung, strictly increasing, the last one max_steps. */
export function rungSteps(minSteps: number, maxSteps: number, eta: number): number[] {
  // The spec refuses these; the cross-field checks may still see them, and must not loop.
  if (!(eta >= 2) || !(minSteps >= 1)) return [maxSteps];
  const steps: number[] = [];
  for (let s = minSteps; s < maxSteps; s *= eta) steps.push(s);
  steps.push(maxSteps);
  return steps;
}

export interface RungCandidate {
  /** The configuration (a trial name without its seed). */
  config: string;
  bucket: number;
  /** Position in the plan, for ties. */
  position: number;
  /** Mean validation loss at this rung; null when it has none (failed). */
  validationLoss: number | null;
}

export interface RungSelection {
  promoted: string[];
  stopped: string[];
}

/** How many of n continue: ⌊n / η⌋, at least one. */
export function survivorsOf(n: number, eta: number): number {
  return n === 0 ? 0 : Math.max(1, Math.floor(n / eta));
}

/** Who continues from this rung, bucket by bucket. */
export function selectSurvivors(candidates: readonly RungCandidate[], eta: number): RungSelection {
  const byBucket = new Map<number, RungCandidate[]>();
  for (const c of candidates) byBucket.set(c.bucket, [...(byBucket.get(c.bucket) ?? []), c]);
  const promoted: string[] = [];
  const stopped: string[] = [];
  for (const group of byBucket.values()) {
    const scored = group.filter((c) => c.validationLoss !== null && Number.isFinite(c.validationLoss));
    scored.sort((a, b) => a.validationLoss! - b.validationLoss! || a.position - b.position);
    const keep = new Set(scored.slice(0, survivorsOf(group.length, eta)).map((c) => c.config));
    for (const c of group) (keep.has(c.config) ? promoted : stopped).push(c.config);
  }
  return { promoted, stopped };
}

/** Train steps of a search if every bucket keeps exactly its survivors (for planning; the real count is recorded). */
export function plannedSearchSteps(bucketSizes: readonly number[], steps: readonly number[], eta: number): number {
  let total = 0;
  for (let n of bucketSizes) {
    let done = 0;
    for (const s of steps) {
      total += n * (s - done);
      done = s;
      n = survivorsOf(n, eta);
    }
  }
  return total;
}
