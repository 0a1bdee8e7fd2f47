/**
 * Configuration rows (seeds averaged, 95 % t interval, paired bootstrap difference to the reference) from the JSON
 * lines that worker-py/scripts/measure_smollm2_methods.py writes, through the control plane's own statistics
 * (control-plane/src/stats/configuration-results.ts), as a Markdown table for docs/.
 *
 *   npx tsx infra/scripts/configuration-table.ts [--reference "lora r=8"] [--with-items] runs.jsonl [more.jsonl …]
 *
 * --with-items keeps only the runs that carry per-item results, and of those only the configurations with the same
 * seeds as the reference: a side with one seed has no seed-to-seed spread to resample, and pairing it with a
 * several-seed reference would show item noise alone.
 *
 * A line may also be a row of a docs table's run recorded by hand as {"method", "seed", "trainable", "scores":
 * {"arith": {"acc", "n"}}}. Rows without `item_correct` have no paired difference (the table says why).
 */
import { readFileSync } from 'node:fs';
import type { TaskItems } from '../../control-plane/src/store/item-correctness.js';
import type { TrialRow } from '../../control-plane/src/store/store.js';
import {
  configurationResults,
  formatDifference,
  formatInterval,
} from '../../control-plane/src/stats/configuration-results.js';
import type { TrialPlan } from '../../control-plane/src/sweep-specs/index.js';

interface RunLine {
  method: string;
  seed: number;
  trainable: number;
  scores: Record<string, { acc: number; acc_norm?: number; n: number; item_correct?: string }>;
}

const args = process.argv.slice(2);
const refAt = args.indexOf('--reference');
const reference = refAt >= 0 ? args.splice(refAt, 2)[1] : 'lora r=8';
const withItemsAt = args.indexOf('--with-items');
const withItemsOnly = withItemsAt >= 0;
if (withItemsOnly) args.splice(withItemsAt, 1);
const runs = new Map<string, RunLine>();
for (const file of args) {
  for (const line of readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())) {
    const r = JSON.parse(line) as RunLine;
    if (r.method === 'base') continue;
    if (withItemsOnly && !Object.values(r.scores).every((t) => t.item_correct)) continue;
    // A later line for the same run (a rerun with item bits) replaces an earlier one.
    runs.set(`${r.method}|${r.seed}`, r);
  }
}

if (withItemsOnly) {
  const seedsOf = (label: string) =>
    [...runs.values()]
      .filter((r) => r.method === label)
      .map((r) => r.seed)
      .sort()
      .join(',');
  const refSeeds = seedsOf(reference!);
  for (const [key, r] of runs) if (seedsOf(r.method) !== refSeeds) runs.delete(key);
}

const items = new Map<string, Map<string, TaskItems>>();
const rows: TrialRow[] = [...runs.values()].map((r) => {
  const key = `${r.method}|${r.seed}`;
  const bits = new Map<string, TaskItems>();
  for (const [task, s] of Object.entries(r.scores))
    if (s.item_correct) bits.set(task, { n: s.n, bits: new Uint8Array(Buffer.from(s.item_correct, 'hex')) });
  if (bits.size) items.set(key, bits);
  const mode = /^bslora (slice|kron|gate)/.exec(r.method)?.[1] ?? null;
  const ranks = /r=(\d+)$/.exec(r.method);
  const rr = ranks ? Number(ranks[1]) : null;
  const plan = {
    trialKey: key,
    name: `${r.method}-s${r.seed}`,
    method: r.method.startsWith('bslora') ? 'bslora' : 'lora',
    rank: mode ? null : rr,
    ranks: mode && rr ? { local: rr, intra: rr, inter: rr } : null,
    shareMode: mode,
    label: r.method,
    seed: r.seed,
  } as unknown as TrialPlan;
  const metrics = Object.fromEntries(
    Object.entries(r.scores).map(([t, s]) => [t, { acc: s.acc, accNorm: s.acc_norm ?? s.acc, n: s.n }]),
  );
  const accs = Object.values(metrics).map((m) => m.acc);
  return {
    trialKey: key,
    name: plan.name,
    method: plan.method,
    status: 'completed',
    lastError: null,
    reused: false,
    plan,
    result: {
      counts: { total: r.trainable },
      initialLoss: null,
      finalLoss: null,
      train: {},
      metrics,
      meanAcc: accs.reduce((a, b) => a + b, 0) / accs.length,
      adapterSha256: null,
      recordedAt: '',
    },
  };
});

const res = configurationResults(rows, items, { reference });
const fmtInt = (n: number | null) => (n === null ? '–' : Math.round(n).toLocaleString('en-US'));
console.log(
  `| configuration | trainable params | seeds | mean acc ± 95 % CI (n) | vs ${res.reference} [95 % CI] | real? |`,
);
console.log('| --- | ---: | --- | ---: | ---: | --- |');
for (const c of res.configurations) {
  const d = c.vsReference?.mean ?? null;
  const real =
    c.name === res.reference
      ? 'reference'
      : d
        ? d.lo > 0
          ? 'yes, better'
          : d.hi < 0
            ? 'yes, worse'
            : 'no (within noise)'
        : `– (${c.vsReference?.reason ?? 'no reference'})`;
  console.log(
    `| ${c.name} | ${fmtInt(c.trainable)} | ${c.seeds.join(', ')} | ${formatInterval(c.mean)} | ${c.name === res.reference ? '–' : formatDifference(d)} | ${real} |`,
  );
}
