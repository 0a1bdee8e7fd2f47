/**
 * The LoRA baseline of a sweep: the trial every other trial's parameter share (and accuracy delta) is measured
 * against. It is the LoRA trial with the most trainable parameters (the largest rank: the strongest plain LoRA in the
 * sweep); among equals, the first listed. Trials without a count (not finished, refused) cannot be the baseline.
 */
export function pickLoraBaseline<T extends { method: string }>(
  trials: readonly T[],
  trainable: (trial: T) => number | null | undefined,
): T | undefined {
  let best: T | undefined;
  let bestTotal = -Infinity;
  for (const t of trials) {
    if (t.method !== 'lora') continue;
    const total = trainable(t);
    if (total === null || total === undefined) continue;
    if (best === undefined || total > bestTotal) {
      best = t;
      bestTotal = total;
    }
  }
  return best;
}
