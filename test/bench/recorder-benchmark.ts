/**
 * Recorder and store micro-benchmark (docs/benchmarks.md, "Control-plane scale"): the store work of one sweep of
 * `--trials` results, before and after each change made for scale, on a temporary SQLite store. No Redis, no workers.
 *
 *   npx tsx test/bench/recorder-benchmark.ts [--trials 10000] [--repeat 3]
 *
 * - per-event writes (what the recorder does for each job's 'active' event and each eval result), with every
 *   statement prepared on each call and the sweep marked running on every 'active' event (before), and with the
 *   store's statement cache and the sweep marked running once (after);
 * - the sweep job's safety-net pass over every child result: one commit per trial (before) against skipping the
 *   trials already recorded, in one transaction (after);
 * - the sweep summary's Pareto front over the store's rows: the pairwise check (before) against `paretoFront`
 *   (after), on dry-run results (all equal: the pairwise check's worst case) and on distinct ones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { EvalJobResult } from '../../control-plane/src/queue/queues.js';
import { recordEvalResult } from '../../control-plane/src/recorder/result-recorder.js';
import { paretoFront } from '../../control-plane/src/recorder/summarize-sweep.js';
import { Store, type TrialRow } from '../../control-plane/src/store/store.js';
import type { Trial } from '../../control-plane/src/sweep-specs/index.js';
import { benchPlans } from './bench-plans.js';

const { values: args } = parseArgs({
  options: { trials: { type: 'string', default: '10000' }, repeat: { type: 'string', default: '3' } },
});
const N = Number(args.trials);

const plans = (n: number): Trial[] => benchPlans(n, 'recorder-bench');

/** A dry-run worker's result, as the eval job returns it. */
function result(trialKey: string): EvalJobResult {
  return {
    trialKey,
    metrics: { 'builtin:arith': { acc: 0, accNorm: 0, n: 0 } },
    error: null,
    train: {
      trialKey,
      counts: { local: 0, intra: 0, inter: 0, transform: 0, total: 0, base_total: 0 },
      initialLoss: 0,
      finalLoss: 0,
      steps: 1,
      wallSeconds: 0,
      peakMemoryBytes: 0,
      versions: { python: '3.11', torch: '2.5.1', transformers: '4.46.3', peft: '0.13.2' },
      device: 'dry-run',
      seed: 0,
      adapterSha256: '',
      adapterSize: 0,
      resumedFromStep: 0,
      workerAddress: '127.0.0.1:50051',
    },
  };
}

function timeIt(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

const trials = plans(N);
const results = trials.map((p) => result(p.trialKey));
const rows: Record<string, number[]> = {};
const note = (label: string, ms: number) => {
  rows[label] ??= [];
  rows[label].push(ms);
};

for (let r = 0; r < Number(args.repeat); r++) {
  for (const cached of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), 'bslora-recorder-bench-'));
    // Before: the store prepared its SQL on every call.
    const store = new Store(join(dir, 'bslora.db'), { cacheStatements: cached });
    const tag = cached ? 'after (statement cache)' : 'before';
    store.createSweep({ id: 'sw', name: 'bench', spec: {} }, trials, new Set());
    // The recorder's 'active' handler, for the train and the eval job of each trial: before, it also marked the
    // sweep running every time; after, once per sweep.
    note(
      `${2 * N} 'active' events, ${cached ? 'after (statement cache, sweep marked running once)' : 'before'}`,
      timeIt(() => {
        for (let i = 0; i < 2; i++) {
          for (const p of trials) {
            store.setTrialStatus(p.trialKey, 'running');
            if (!cached) store.setSweepStatus('sw', 'running');
          }
        }
        if (cached) store.setSweepStatus('sw', 'running');
      }),
    );
    note(
      `first record of ${N} results, ${tag}`,
      timeIt(() => results.forEach((x) => recordEvalResult(store, 'sw', x))),
    );
    if (cached) {
      note(
        `sweep job re-records ${N} results: one commit each (before)`,
        timeIt(() => results.forEach((x) => recordEvalResult(store, 'sw', x))),
      );
      note(
        `sweep job re-records ${N} results: skip recorded, one transaction (after)`,
        timeIt(() => {
          const recorded = store.finishedTrialKeys(results.map((x) => x.trialKey));
          store.inTransaction(() =>
            results.forEach((x) => !recorded.has(x.trialKey) && recordEvalResult(store, 'sw', x)),
          );
        }),
      );
    }
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  // The sweep summary over the store's rows (TrialRow objects, as finishSweep passes them).
  for (const [kind, acc] of [
    ['all equal (dry run)', () => 0],
    ['distinct', (i: number) => ((i * 104729) % 1000) / 1000],
  ] as const) {
    const rowsOf = trials.map(
      (p, i): TrialRow => ({
        trialKey: p.trialKey,
        name: p.name,
        method: p.method?.$case ?? '',
        status: 'completed',
        lastError: null,
        reused: false,
        plan: p,
        result: {
          counts: { total: kind === 'distinct' ? (i * 7919) % N : 0 },
          initialLoss: 0,
          finalLoss: 0,
          train: {},
          metrics: null,
          adapterSha256: null,
          meanAcc: acc(i),
          recordedAt: '',
        },
      }),
    );
    note(
      `Pareto front of ${N} trials, ${kind}: pairwise (before)`,
      timeIt(() => pairwiseFront(rowsOf)),
    );
    note(
      `Pareto front of ${N} trials, ${kind}: paretoFront (after)`,
      timeIt(() => sortedFront(rowsOf)),
    );
  }
}

/** The Pareto front as summarizeSweep computes it now. */
function sortedFront(rows: TrialRow[]): Set<string> {
  const withAcc = rows.filter((r) => r.result && r.result.meanAcc !== null && r.method !== 'base');
  return paretoFront(
    withAcc.map((r) => ({ key: r.trialKey, params: r.result!.counts.total, acc: r.result!.meanAcc! })),
  );
}

/** The Pareto front as summarizeSweep computed it before: every pair of trials. */
function pairwiseFront(rows: TrialRow[]): Set<string> {
  const withAcc = rows.filter((r) => r.result && r.result.meanAcc !== null && r.method !== 'base');
  return new Set(
    withAcc
      .filter(
        (p) =>
          !withAcc.some(
            (q) =>
              q !== p &&
              q.result!.counts.total <= p.result!.counts.total &&
              q.result!.meanAcc! >= p.result!.meanAcc! &&
              (q.result!.counts.total < p.result!.counts.total || q.result!.meanAcc! > p.result!.meanAcc!),
          ),
      )
      .map((p) => p.trialKey),
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [label, ms] of Object.entries(rows)) {
  console.log(`${median(ms).toFixed(0).padStart(7)} ms  ${label}  (runs: ${ms.map((x) => x.toFixed(0)).join(', ')})`);
}
