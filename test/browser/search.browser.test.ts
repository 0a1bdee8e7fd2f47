/**
 * A searched sweep on the dashboard, in headless Chromium (playwright-core, /usr/bin/chromium), against a real
 * ControlPlane (real Redis, unique prefix, temporary store). The sweep is submitted through the planner (its rungs
 * and buckets planned from parameter counts, rung 0 queued in BullMQ); no worker runs: the rung results are written
 * through the store and each rung closed by the orchestrator's own `closeRung`, the finalists recorded through the
 * recorder's `recordEvalResult`. The page must show the rungs (configurations, kept, stopped early), the budget
 * buckets, the stopped configurations and the compute spent against the full grid's.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { finishSweep, recordEvalResult } from '../../control-plane/src/recorder/result-recorder.js';
import { closeRung, type RungJobData } from '../../control-plane/src/search/search-rungs.js';
import { loadSweepSpecFile } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { CHROMIUM, chromiumAvailable, launchChromium, startDashboardServer, watchErrors } from './helpers.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const SPEC = `
name: searched
base_model: builtin:tiny-llama
train_data: builtin:arith
eval_tasks: [builtin:arith]
target_modules: [q_proj, v_proj]
training: {steps: 8, learning_rate: 0.003, batch_size: 4, seq_len: 64, seed: 0, eval_limit: 20, validation_holdout: 32}
grid:
  method: [lora, bslora]
  lora_ranks: [1, 2, 4, 8]
  ranks: [{local: 1, intra: 1, inter: 1}, {local: 2, intra: 2, inter: 2}]
search: {strategy: successive_halving, eta: 2, min_steps: 2, budgets: {buckets: 2}}
`;

/** A rung parent job as BullMQ hands it to the consumer, with no children left to report (they are in the store). */
const rungJob = (sweepId: string, rung: number) =>
  ({
    data: { sweepId, rung },
    getChildrenValues: async () => ({}),
    getIgnoredChildrenFailures: async () => ({}),
  }) as unknown as Job<RungJobData>;

describe.skipIf(process.env.BSLORA_SKIP_BROWSER_TESTS === '1')('a searched sweep in headless Chromium', () => {
  let home: string;
  let prefix: string;
  let cp: ControlPlane;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let sweepId: string;

  beforeAll(async () => {
    if (!chromiumAvailable()) throw new Error(`no Chromium at ${CHROMIUM}: run infra/scripts/setup.sh as root`);
    home = mkdtempSync(join(tmpdir(), 'bslora-search-browser-'));
    prefix = uniquePrefix('search-browser');
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    const path = join(home, 'searched.yaml');
    writeFileSync(path, SPEC);
    const submitted = await cp.submit(await loadSweepSpecFile(path));
    sweepId = submitted.sweepId;
    const deps = { store: cp.store, flows: (cp as unknown as { flows: never }).flows, ctx: cp.ctx };
    // Validation loss falls with rank here, so the larger adapters of each bucket are kept.
    const loss = (name: string) => 2 - Number(/(\d+)(?:\/\d+\/\d+)?-s0$/.exec(name)?.[1] ?? 0) / 10;
    const trials = submitted.trials;
    for (const [rung, steps] of [
      [0, 2],
      [1, 4],
    ] as const) {
      const at = new Set(
        cp.store
          .searchTrials(sweepId)
          .filter((t) => t.rung === rung && !t.stopped)
          .map((t) => t.trialKey),
      );
      for (const t of trials.filter((x) => at.has(x.trialKey))) {
        cp.store.recordRungResult({
          trialKey: t.trialKey,
          steps,
          validationLoss: loss(t.name) - steps / 100,
          validationExamples: 32,
          stepsTrained: 2,
          trainSeconds: 1.5,
          adapterSha256: null,
        });
      }
      await closeRung(deps, rungJob(sweepId, rung));
    }
    const finalists = cp.store.searchTrials(sweepId).filter((t) => t.rung === 2 && !t.stopped);
    for (const f of finalists) {
      recordEvalResult(cp.store, sweepId, {
        trialKey: f.trialKey,
        train: {
          trialKey: f.trialKey,
          counts: { total: f.params },
          initialLoss: 2,
          finalLoss: 1,
          steps: 8,
          wallSeconds: 3,
          peakMemoryBytes: 0,
          versions: {},
          device: 'cpu',
          seed: 0,
          adapterSha256: '',
          adapterSize: 0,
          resumedFromStep: 4,
          workerAddress: 'test',
          validationLoss: 1.1,
          validationExamples: 32,
        },
        metrics: { 'builtin:arith': { acc: 0.5, accNorm: 0.5, n: 20 } },
        error: null,
      });
    }
    finishSweep(cp.store, sweepId);
    ({ app, url } = await startDashboardServer(cp, 'token-0123456789abcdef'));
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it('plans the search as the store records it: 6 configurations, 2 buckets, rungs at 2, 4, 8', () => {
    const view = cp.store.searchTrials(sweepId);
    expect(view).toHaveLength(6);
    expect(new Set(view.map((t) => t.bucket))).toEqual(new Set([0, 1]));
    expect(cp.store.getSweep(sweepId)!.status).toBe('completed');
  });

  it('shows the rungs, the buckets, what stopped early and the compute against the full grid', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1400 } });
    const errors = watchErrors(page);
    await page.goto(`${url}/sweeps/${sweepId}`);
    await page.waitForSelector('#search #search-rungs tbody tr');
    const rungs = await page.$$eval('#search-rungs tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)),
    );
    const api = (await (await fetch(`${url}/api/v1/sweeps/${sweepId}/search`)).json()) as {
      rungs: { configs: number; kept: number | null; stopped: number | null }[];
      compute: { steps: number; gridSteps: number };
      trials: { stopped: boolean }[];
    };
    expect(rungs).toEqual([
      ['1 / 3', '2', '6', String(api.rungs[0]!.kept), String(api.rungs[0]!.stopped)],
      ['2 / 3', '4', String(api.rungs[1]!.configs), String(api.rungs[1]!.kept), String(api.rungs[1]!.stopped)],
      ['3 / 3', '8', String(api.rungs[2]!.configs), 'final', ''],
    ]);
    // Each bucket keeps floor(n / 2) of its configurations, at least one, at every rung.
    expect(api.rungs[0]!.kept! + api.rungs[0]!.stopped!).toBe(6);
    expect(api.rungs[2]!.configs).toBe(2);
    const buckets = await page.$$eval('#search-buckets tbody tr', (rows) => rows.length);
    expect(buckets).toBe(2);
    const stoppedCount = api.trials.filter((t) => t.stopped).length;
    expect(stoppedCount).toBe(4);
    expect(await page.textContent('#search-stopped summary')).toBe('4 stopped early');
    const compute = await page.textContent('#search-compute');
    // No step runs twice: 6 configurations to step 2, those kept to step 4, the finalists to step 8.
    const steps = 6 * 2 + api.rungs[1]!.configs * 2 + api.rungs[2]!.configs * 4;
    expect(api.compute).toMatchObject({ steps, gridSteps: 48 });
    expect(compute).toContain(`${Math.round((100 * steps) / 48)}% of the full grid's train steps (${steps} of 48)`);
    expect(compute).toMatch(/device-hours/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('#search').screenshot({ path: join(ARTIFACTS, 'dashboard-search.png') });
    expect(errors()).toEqual([]);
    await page.close();
  });
});
