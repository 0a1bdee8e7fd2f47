/**
 * Configuration-level statistics micro-benchmark (docs/benchmarks.md, "Configuration statistics"): the time
 * `configurationResults` takes for a sweep of `--configs` configurations × `--seeds` seeds on one task of `--items`
 * items, three ways: without per-item results (t intervals only: the baseline), with them the first time (a paired
 * bootstrap per configuration and per front point), and again (the comparisons remembered in the process).
 *
 *   npx tsx test/bench/configuration-stats-benchmark.ts [--configs 100] [--seeds 3] [--items 200]
 *
 * Accuracies rise with parameters, so every configuration is on the front: the worst case (one extra comparison each).
 */
import { parseArgs } from 'node:util';
import { configurationResults } from '../../control-plane/src/stats/configuration-results.js';
import { packItemBits } from '../../control-plane/src/stats/item-bits.js';
import type { TaskItems } from '../../control-plane/src/store/item-correctness.js';
import type { TrialRow } from '../../control-plane/src/store/store.js';

const { values: args } = parseArgs({
  options: {
    configs: { type: 'string', default: '100' },
    seeds: { type: 'string', default: '3' },
    items: { type: 'string', default: '200' },
  },
});
const [C, S, N] = [Number(args.configs), Number(args.seeds), Number(args.items)];

const rows: TrialRow[] = [];
const items = new Map<string, Map<string, TaskItems>>();
for (let c = 0; c < C; c++) {
  for (let s = 0; s < S; s++) {
    const key = `c${c}-s${s}`;
    const method = c === 0 ? 'lora' : 'bslora';
    const flags = Array.from({ length: N }, (_, i) => (i * 37 + c * 7 + s * 11) % 100 < 70);
    rows.push({
      trialKey: key,
      name: `${method}-c${c}-s${s}`,
      method,
      status: 'completed',
      lastError: null,
      reused: false,
      plan: { method, config: c, seed: s, ranks: null, training: {} } as unknown as TrialRow['plan'],
      result: {
        counts: { total: 1000 + c },
        initialLoss: 1,
        finalLoss: 1,
        train: {},
        metrics: { t: { acc: 0.7, accNorm: 0.7, n: N } },
        meanAcc: 0.7 + c * 1e-4,
        adapterSha256: null,
        recordedAt: '',
      },
    });
    items.set(key, new Map([['t', { n: N, bits: packItemBits(flags) }]]));
  }
}

const time = (label: string, fn: () => unknown) => {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(34)} ${ms.toFixed(0).padStart(8)} ms`);
  return ms;
};
console.log(`${C} configurations × ${S} seeds × ${N} items, one task`);
const base = time('t intervals only (no item bits)', () => configurationResults(rows, new Map()));
const first = time('with paired bootstraps, first time', () => configurationResults(rows, items));
const again = time('again (remembered)', () => configurationResults(rows, items));
console.log(`first / baseline ${(first / base).toFixed(0)}x; again / baseline ${(again / base).toFixed(1)}x`);
