/**
 * Successive halving against the full grid (docs/benchmarks.md, "Successive halving against the full grid").
 *
 *   nice -n 10 npx tsx test/bench/search-benchmark.ts [--spec jobs/smollm2-arith-search.yaml]
 *     [--home .bslora/search-bench] [--search-only]
 *
 * Runs the searched spec on a local stack (Redis, BullMQ, one spawned worker on the CPU), then the same spec without
 * its `search` block: the full grid, same seeds, steps, data and validation split, so the search's finalists are the
 * grid's trials (same keys) and are reused, not trained twice. Then compares, per budget bucket of the search:
 * the configurations on each front, their test accuracy, and the compute spent (train steps exact; train seconds
 * measured per trial). Writes the report as JSON beside the store and prints it. The home is kept, so a rerun reuses
 * everything finished (a stopped run continues where it was).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../../control-plane/src/local-stack.js';
import { searchViewOf, type SearchView } from '../../control-plane/src/search/search-view.js';
import type { SearchPlan } from '../../control-plane/src/search/search-plan.js';
import { configOfTrialName } from '../../control-plane/src/search/search-plan.js';
import { sampleRankCorrelation } from 'simple-statistics';
import { pairedBootstrap } from '../../control-plane/src/stats/paired-bootstrap.js';
import { unpackItemBits } from '../../control-plane/src/stats/item-bits.js';
import { itemCorrectnessOf } from '../../control-plane/src/store/item-correctness.js';
import { Store, type TrialRow } from '../../control-plane/src/store/store.js';
import { loadSweepSpecFile } from '../../control-plane/src/sweep-specs/index.js';
import { TEST_REDIS_URL } from '../helpers/redis.js';
import { waitForSweepEnd } from '../helpers/sweep-helpers.js';

const { values: args } = parseArgs({
  options: {
    spec: { type: 'string', default: 'jobs/smollm2-arith-search.yaml' },
    home: { type: 'string', default: '.bslora/search-bench' },
    redis: { type: 'string', default: TEST_REDIS_URL },
    'search-only': { type: 'boolean', default: false },
    // Evaluate on this many test items instead of the spec's eval_limit (both sweeps; builtin:arith has 500).
    'eval-limit': { type: 'string' },
    // Also pick the grid's best on the first K test items only and compare on the rest (no winner's curse).
    'select-items': { type: 'string' },
    // Print where a run stands from its store alone (nothing is started): rung results so far, compute so far.
    'report-only': { type: 'boolean', default: false },
  },
});

const log = (line: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Config {
  trialKey: string;
  config: string;
  params: number;
  bucket: number;
  acc: number | null;
  trainSeconds: number | null;
  steps: number | null;
  resumedFromStep: number | null;
}

function configsOf(rows: readonly TrialRow[], plan: SearchPlan): Config[] {
  const byConfig = new Map(plan.configs.map((c) => [c.config, c]));
  return rows
    .filter((r) => r.result)
    .map((r) => {
      const c = byConfig.get(configOfTrialName(r.name))!;
      const t = r.result!.train as { wallSeconds?: number; steps?: number; resumedFromStep?: number };
      return {
        trialKey: r.trialKey,
        config: c.config,
        params: c.params,
        bucket: c.bucket,
        acc: r.result!.meanAcc,
        trainSeconds: t.wallSeconds ?? null,
        steps: t.steps ?? null,
        resumedFromStep: t.resumedFromStep ?? null,
      };
    });
}

/** The Pareto front (fewer parameters, higher accuracy) of configurations with an accuracy. */
function front(configs: readonly Config[]): Config[] {
  const sorted = configs.filter((c) => c.acc !== null).sort((a, b) => a.params - b.params || b.acc! - a.acc!);
  const out: Config[] = [];
  for (const c of sorted) if (!out.length || c.acc! > out[out.length - 1]!.acc!) out.push(c);
  return out;
}

/** Where the searched sweeps of a home stand, from the store alone. */
function reportOnly(home: string): void {
  const store = new Store(join(home, 'bslora.db'));
  try {
    for (const sweep of store.listSweeps(100)) {
      const rows = store.trialsOfSweep(sweep.id);
      const view = searchViewOf(store, sweep.id, rows, sweep.status !== 'queued' && sweep.status !== 'running');
      const results = store.rungResults(rows.map((r) => r.trialKey));
      const rung = [...results.values()].flat();
      process.stdout.write(
        `${JSON.stringify(
          {
            sweep: sweep.id,
            name: sweep.name,
            status: sweep.status,
            trials: rows.length,
            withResult: rows.filter((r) => r.result).length,
            rungResults: rung.length,
            rungTrainSeconds: rung.reduce((a, r) => a + r.trainSeconds, 0),
            search: view && { currentRung: view.currentRung, rungs: view.rungs, compute: view.compute },
            accuracies: rows
              .filter((r) => r.result)
              .map((r) => ({ name: r.name, acc: r.result!.meanAcc, wallSeconds: r.result!.train.wallSeconds })),
          },
          null,
          2,
        )}\n`,
      );
    }
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const home = resolve(args.home!);
  if (args['report-only']) return reportOnly(home);
  mkdirSync(home, { recursive: true });
  const loaded = await loadSweepSpecFile(resolve(args.spec!));
  const searched = args['eval-limit']
    ? { ...loaded, training: { ...loaded.training, eval_limit: Number(args['eval-limit']) } }
    : loaded;
  const { search: _search, ...gridSpec } = searched;
  const grid = { ...gridSpec, name: `${searched.name}-grid` };
  const stack = await startLocalStack({
    homeDir: home,
    redisUrl: args.redis!,
    prefix: 'bslora-search-bench',
    port: 0,
    // The queues are this run's own; the store in the home keeps what finished, so a rerun continues.
    deleteKeysOnStop: true,
    log: (line) => log(line),
  });
  try {
    const cp = stack.controlPlane;
    const started = Date.now();
    const s = await cp.submit(searched);
    log(`search ${s.sweepId}: ${s.trials.length} trials, ${s.reused.length} reused`);
    const searchDone = await waitForSweepEnd(cp.store, s.sweepId, 24 * 3600_000);
    const searchWall = (Date.now() - started) / 1000;
    log(`search ${searchDone.status} in ${searchWall.toFixed(0)} s`);
    const searchRows = cp.store.trialsOfSweep(s.sweepId);
    const view = searchViewOf(cp.store, s.sweepId, searchRows, true) as SearchView;
    const plan = cp.store.searchOf(s.sweepId)!.plan as SearchPlan;
    const finalistKeys = new Set(
      view.trials.filter((t) => !t.stopped && t.rung === plan.rungSteps.length - 1).map((t) => t.trialKey),
    );
    const searchConfigs = configsOf(
      searchRows.filter((r) => finalistKeys.has(r.trialKey)),
      plan,
    );
    const report: Record<string, unknown> = {
      spec: args.spec,
      search: {
        sweepId: s.sweepId,
        status: searchDone.status,
        wallSeconds: searchWall,
        view,
        finalists: searchConfigs,
      },
    };
    const write = () => writeFileSync(join(home, 'search-benchmark.json'), `${JSON.stringify(report, null, 2)}\n`);
    write();
    if (args['search-only']) return;

    const gridStarted = Date.now();
    const g = await cp.submit(grid as typeof searched);
    log(`grid ${g.sweepId}: ${g.trials.length} trials, ${g.reused.length} reused`);
    const gridDone = await waitForSweepEnd(cp.store, g.sweepId, 24 * 3600_000);
    const gridWall = (Date.now() - gridStarted) / 1000;
    log(`grid ${gridDone.status} in ${gridWall.toFixed(0)} s`);
    const gridConfigs = configsOf(cp.store.trialsOfSweep(g.sweepId), plan);

    // Every compared trial's per-item correctness, read and unpacked once.
    const correctness = new Map(
      [...itemCorrectnessOf(cp.store.db, [...new Set([...gridConfigs, ...searchConfigs].map((c) => c.trialKey))])].map(
        ([key, tasks]) => [key, [...tasks].map(([task, t]) => ({ task, bits: unpackItemBits(t.bits, t.n) }))],
      ),
    );
    // How well the first rung's ranking predicts the end: Spearman's correlation, over a bucket's configurations,
    // between the rung-1 validation loss (negated: higher means lower loss) and the grid's test accuracy.
    const rankAgreement = (bucket: number) => {
      const pairs = view.trials
        .filter((t) => t.bucket === bucket && t.validationLoss[0] !== null)
        .map((t) => [-t.validationLoss[0]!, gridConfigs.find((c) => c.config === t.config)?.acc ?? null] as const)
        .filter((p): p is readonly [number, number] => p[1] !== null);
      return pairs.length > 2
        ? sampleRankCorrelation(
            pairs.map((p) => p[0]),
            pairs.map((p) => p[1]),
          )
        : null;
    };
    // Per budget: the best test accuracy within each bucket, and on each front up to the bucket's upper edge.
    const budgets = plan.buckets.map((b) => {
      const high = b.high ?? Number.POSITIVE_INFINITY;
      const best = (cs: Config[], pred: (c: Config) => boolean) =>
        cs.filter((c) => pred(c) && c.acc !== null).sort((a, b2) => b2.acc! - a.acc!)[0] ?? null;
      const inBucket = (c: Config) => c.bucket === b.index;
      const upTo = (c: Config) => c.params < high;
      const sb = best(searchConfigs, inBucket);
      const gb = best(gridConfigs, inBucket);
      const sf = best(searchConfigs, upTo);
      const gf = best(gridConfigs, upTo);
      // grid best − search best on the same test items, with a 95 % paired bootstrap interval over the items;
      // items [from, to) only where given
      const vectors = (c: Config, from = 0, to?: number) =>
        (correctness.get(c.trialKey) ?? []).map((t) => ({ task: t.task, bits: t.bits.slice(from, to) }));
      const paired = (a: Config | null, b: Config | null, from = 0, to?: number) => {
        if (!a || !b) return null;
        const vb = new Map(vectors(b, from, to).map((t) => [t.task, t.bits]));
        const tasks = vectors(a, from, to)
          .filter((t) => vb.has(t.task) && t.bits.length > 0)
          .map((t) => ({ candidate: [t.bits], reference: [vb.get(t.task)!] }));
        if (!tasks.length) return null;
        const d = pairedBootstrap(tasks);
        return { points: 100 * d.mean, lo: 100 * d.lo, hi: 100 * d.hi, items: d.items };
      };
      // the grid's best chosen on the first K items, and both compared on the others
      const k = args['select-items'] ? Number(args['select-items']) : null;
      const accOn = (c: Config, from: number, to?: number) => {
        const v = vectors(c, from, to).flatMap((t) => [...t.bits]);
        return v.length ? v.reduce((x, y) => x + y, 0) / v.length : -1;
      };
      const heldOut = (pred: (c: Config) => boolean) => {
        if (k === null) return null;
        const pickOn = (cs: Config[]) => cs.filter(pred).sort((x, y) => accOn(y, 0, k) - accOn(x, 0, k))[0] ?? null;
        const pick = pickOn(gridConfigs);
        const searchPick = pickOn(searchConfigs);
        return (
          pick &&
          searchPick && {
            searchPick: searchPick.config,
            gridPick: pick.config,
            gridAcc: accOn(pick, k),
            searchAcc: accOn(searchPick, k),
            gap: paired(pick, searchPick, k),
          }
        );
      };
      return {
        bucket: b.index,
        label: `[${b.low}, ${b.high ?? '∞'})`,
        searchBest: sb && { config: sb.config, acc: sb.acc },
        gridBest: gb && { config: gb.config, acc: gb.acc },
        bucketGapPoints: sb && gb ? 100 * (gb.acc! - sb.acc!) : null,
        searchFrontAcc: sf?.acc ?? null,
        gridFrontAcc: gf?.acc ?? null,
        frontGapPoints: sf && gf ? 100 * (gf.acc! - sf.acc!) : null,
        bucketGapPaired: paired(gb, sb),
        frontGapPaired: paired(gf, sf),
        bucketHeldOut: heldOut(inBucket),
        rung1LossVsAccuracy: rankAgreement(b.index),
        frontHeldOut: heldOut(upTo),
      };
    });
    // Compute: train steps are exact. Seconds: the search's measured seconds (its rung trainings and its finalists'
    // last segments); the grid's measured seconds of every trial it trained, and, for the finalists it reused, their
    // whole run at the search's measured seconds per step.
    const reused = new Set(g.reused);
    const gridSeconds = gridConfigs.reduce((a, c) => a + (c.trainSeconds ?? 0), 0);
    report.grid = {
      sweepId: g.sweepId,
      status: gridDone.status,
      wallSeconds: gridWall,
      trainedHere: g.trials.length - reused.size,
      reusedFromSearch: reused.size,
      configs: gridConfigs,
      front: front(gridConfigs).map((c) => c.config),
    };
    report.searchFront = front(searchConfigs).map((c) => c.config);
    report.budgets = budgets;
    report.compute = {
      searchSteps: view.compute.steps,
      gridSteps: view.compute.gridSteps,
      stepShare: view.compute.stepShare,
      searchSeconds: view.compute.seconds,
      gridSecondsEstimate: view.compute.gridSeconds,
      gridTrainSecondsRecorded: gridSeconds,
      searchDeviceHours: view.compute.deviceHours,
      gridDeviceHours: view.compute.gridDeviceHours,
    };
    report.target = {
      withinOnePointAtEveryBudget: budgets.every((b) => b.frontGapPoints !== null && b.frontGapPoints <= 1),
      withinOnePointInEveryBucket: budgets.every((b) => b.bucketGapPoints !== null && b.bucketGapPoints <= 1),
      atMost35PercentOfSteps: view.compute.stepShare <= 0.35,
    };
    write();
    process.stdout.write(`${JSON.stringify({ budgets, compute: report.compute, target: report.target }, null, 2)}\n`);
  } finally {
    await stack.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
