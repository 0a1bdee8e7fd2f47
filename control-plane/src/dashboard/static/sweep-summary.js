// @ts-check
/**
 * What GET results works out over all of a sweep's trials (recorder/summarize-sweep.ts), worked out again in the
 * page from the trials it holds, so that a live event, which carries one trial's row, updates the LoRA baseline,
 * each trial's share of it and accuracy delta, the Pareto front, and the counts without a download. A test checks
 * that both give the same answer on the same trials (sweep-summary.test.ts).
 */

/**
 * @typedef {{ trialKey: string, name: string, method: string, status: string, trainable: number | null,
 *   meanAcc: number | null, loraShare: number | null, accDelta: number | null, onFront: boolean }} SummarizedTrial
 */

/**
 * Keys of the points on the front of parameters (fewer is better) against accuracy (higher is better); the same
 * rule as paretoFront in recorder/summarize-sweep.ts (identical points are all on it; a point without numbers is on
 * it and dominates nothing).
 * @param {{ key: string, params: number | null, acc: number | null }[]} points
 * @returns {Set<string>}
 */
export function paretoFront(points) {
  const valid = (/** @type {{ params: number | null, acc: number | null }} */ p) =>
    typeof p.params === 'number' && !Number.isNaN(p.params) && typeof p.acc === 'number' && !Number.isNaN(p.acc);
  const front = new Set(points.filter((p) => !valid(p)).map((p) => p.key));
  const sorted = /** @type {{ key: string, params: number, acc: number }[]} */ (points.filter(valid)).sort(
    (a, b) => a.params - b.params,
  );
  let bestFewer = -Infinity;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    let groupBest = -Infinity;
    for (; j < sorted.length && sorted[j].params === sorted[i].params; j++)
      groupBest = Math.max(groupBest, sorted[j].acc);
    for (let k = i; k < j; k++)
      if (!(bestFewer >= sorted[k].acc) && !(groupBest > sorted[k].acc)) front.add(sorted[k].key);
    bestFewer = Math.max(bestFewer, groupBest);
    i = j;
  }
  return front;
}

/**
 * Sets each trial's `loraShare`, `accDelta` and `onFront` in place, and returns the baseline's name and the counts.
 * A trial has a result when it completed (the store marks a trial completed when it records its result).
 * @template {SummarizedTrial} T
 * @param {T[]} trials
 * @returns {{ loraBaseline: string | null, completed: number, failed: number }}
 */
export function summarizeTrials(trials) {
  const done = (/** @type {T} */ t) => t.status === 'completed';
  /** @type {T | null} */
  let baseline = null;
  for (const t of trials) {
    // The largest LoRA by parameters; the first of equals in plan order (as a stable sort, descending, gives).
    if (t.method === 'lora' && done(t) && (baseline === null || (t.trainable ?? 0) > (baseline.trainable ?? 0)))
      baseline = t;
  }
  const front = paretoFront(
    trials
      .filter((t) => done(t) && t.meanAcc !== null && t.method !== 'base')
      .map((t) => ({ key: t.trialKey, params: t.trainable, acc: t.meanAcc })),
  );
  const baseTotal = baseline?.trainable;
  const baseAcc = baseline?.meanAcc ?? null;
  let completed = 0;
  let failed = 0;
  for (const t of trials) {
    t.loraShare = t.trainable !== null && baseTotal ? t.trainable / baseTotal : null;
    t.accDelta = t.meanAcc !== null && baseAcc !== null && baseline !== null ? t.meanAcc - baseAcc : null;
    t.onFront = front.has(t.trialKey);
    if (t.status === 'completed') completed += 1;
    else if (t.status === 'failed') failed += 1;
  }
  return { loraBaseline: baseline?.name ?? null, completed, failed };
}
