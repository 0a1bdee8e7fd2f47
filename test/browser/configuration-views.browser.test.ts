/**
 * The configuration views and the comparison page in headless Chromium (playwright-core, /usr/bin/chromium), against
 * a real ControlPlane (real Redis, unique prefix, temporary store). Sweeps with three seeds per configuration are
 * written into the store with per-item correctness through the recorder's own `recordEvalResult`, so every number
 * on the page comes from the real aggregation (GET results, GET comparisons).
 *
 * Checked in the SVG that ECharts drew: one point per configuration at its (parameters, mean) and an error bar from
 * its lower to its upper bound, the within-noise ring on the right front point, one line and band per share mode,
 * one heat-map cell per (ρ, φ) of the chosen mode with its `mean ± half-width (n)` label, the per-task view following
 * the configuration checkboxes, and SVG / PNG / CSV exports. The comparison page is reached from the sweep list, and
 * shows the server's reason for sweeps that cannot be compared.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { finishSweep } from '../../control-plane/src/recorder/result-recorder.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { recordItemResults, type ItemTruth } from '../helpers/item-results.js';
import {
  CHROMIUM,
  chromiumAvailable,
  fakePlan,
  launchChromium,
  startDashboardServer,
  uniqueSweepId,
  watchErrors,
  type FakeTrial,
} from './helpers.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const TASKS = ['builtin:arith', '/data/commonsense/boolq/test.json#llm-adapters'];
const ITEMS = 400;

// Item i of seed s on task k is right when u < threshold + 2s. "Superset" configurations use the LoRA baseline's
// u (right wherever it is right, and more), "independent" ones an unrelated permutation of the items.
const superset = (thr: number) => (i: number, s: number, k: number) =>
  (i * 37 + s * 11 + k * 5) % ITEMS < ((thr + 2 * s) * ITEMS) / 100;
const independent = (thr: number, a: number) => (i: number, s: number, k: number) =>
  (i * a + s * 29 + k * 13 + 7) % ITEMS < ((thr + 2 * s) * ITEMS) / 100;

const CONFIGS: { trial: Omit<FakeTrial, 'name' | 'acc' | 'seed'>; name: string; correct: ItemTruth[string] }[] = [
  { name: 'lora-r8', trial: { method: 'lora', rank: 8, total: 8192 }, correct: superset(70) },
  {
    name: 'bslora-slice-4/2/2',
    trial: { method: 'bslora', shareMode: 'slice', ranks: { local: 4, intra: 2, inter: 2 }, total: 4096 },
    correct: superset(90),
  },
  {
    name: 'bslora-slice-2/2/4',
    trial: { method: 'bslora', shareMode: 'slice', ranks: { local: 2, intra: 2, inter: 4 }, total: 3072 },
    correct: independent(72, 53),
  },
  {
    name: 'bslora-slice-2/4/2',
    trial: { method: 'bslora', shareMode: 'slice', ranks: { local: 2, intra: 4, inter: 2 }, total: 3100 },
    correct: independent(69, 61),
  },
  {
    name: 'bslora-gate64-4/2/2',
    trial: {
      method: 'bslora',
      shareMode: 'gate',
      gateShareSize: 64,
      ranks: { local: 4, intra: 2, inter: 2 },
      total: 4200,
    },
    correct: superset(78),
  },
  {
    name: 'bslora-gate64-2/2/4',
    trial: {
      method: 'bslora',
      shareMode: 'gate',
      gateShareSize: 64,
      ranks: { local: 2, intra: 2, inter: 4 },
      total: 3000,
    },
    correct: independent(71, 73),
  },
];

function seedThreeSeedSweep(cp: ControlPlane, id: string, name: string, evalLimit = 200): void {
  const plans = CONFIGS.flatMap((c) =>
    [0, 1, 2].map((seed) => {
      const plan = fakePlan({ ...c.trial, name: `${c.name}-s${seed}`, seed, acc: [] }, TASKS);
      return { ...plan, training: { ...plan.training!, evalLimit } };
    }),
  );
  cp.store.createSweep({ id, name, spec: { name } }, plans, new Set());
  recordItemResults(cp, id, {
    tasks: TASKS,
    items: ITEMS,
    correct: Object.fromEntries(CONFIGS.map((c) => [c.name, c.correct])),
    params: Object.fromEntries(CONFIGS.map((c) => [c.name, c.trial.total])),
  });
  finishSweep(cp.store, id);
}

/** What the page drew, read in the page (self-contained). */
function readViewsInPage() {
  const v = (window as unknown as { bsloraConfigViews: any }).bsloraConfigViews;
  const paths = (sel: string) =>
    [...document.querySelectorAll(`${sel} svg path`)].map((p) => p.getAttribute('d') ?? '');
  const lineAt = (ds: string[], x: number, y1: number, y2: number) =>
    ds.some((d) => {
      const m = /^M\s*([-\d.]+)\s+([-\d.]+)\s*L\s*([-\d.]+)\s+([-\d.]+)/.exec(d);
      if (!m) return false;
      const [a, b, c, e] = m.slice(1).map(Number);
      return (
        Math.abs(a - x) < 1 &&
        Math.abs(c - x) < 1 &&
        ((Math.abs(b - y1) < 1 && Math.abs(e - y2) < 1) || (Math.abs(b - y2) < 1 && Math.abs(e - y1) < 1))
      );
    });
  const params = v.charts.params;
  const pOpt = params.getOption();
  const pPaths = paths('#view-params-chart');
  const points = v.results.configurations
    .filter((c: any) => c.mean && c.trainable > 0)
    .map((c: any) => {
      const [x, y] = params.convertToPixel({ xAxisIndex: 0, yAxisIndex: 0 }, [c.trainable, c.mean.mean]);
      const [, lo] = params.convertToPixel({ xAxisIndex: 0, yAxisIndex: 0 }, [c.trainable, c.mean.lo]);
      const [, hi] = params.convertToPixel({ xAxisIndex: 0, yAxisIndex: 0 }, [c.trainable, c.mean.hi]);
      const inSeries = pOpt.series.some(
        (s: any) =>
          s.type === 'scatter' && s.id.startsWith('cfg:') && s.data.some((d: any) => d.configKey === c.configKey),
      );
      return { name: c.name, inSeries, x, y, bar: lineAt(pPaths, x, lo, hi) };
    });
  const noise = pOpt.series
    .find((s: any) => s.id === 'front-noise')
    .data.map((d: any) => v.results.configurations.find((c: any) => c.configKey === d.configKey).name);
  const front = pOpt.series
    .find((s: any) => s.id === 'config-front')
    .data.map((d: any) => v.results.configurations.find((c: any) => c.configKey === d.configKey).name);
  const rOpt = v.charts.ratio.getOption();
  const lines = rOpt.series
    .filter((s: any) => s.type === 'line')
    .map((s: any) => ({ id: s.id, xs: s.data.map((d: any) => d.value[0]) }));
  const bands = [...document.querySelectorAll('#view-ratio-chart svg path')].filter(
    (p) => p.getAttribute('fill-opacity') === '0.18' || p.getAttribute('opacity') === '0.18',
  ).length;
  const heatTexts = [...document.querySelectorAll('#view-heat-chart svg text')].map((t) => t.textContent);
  const hOpt = v.charts.heat.getOption();
  return {
    points,
    noise,
    front,
    lines,
    bands,
    heat: {
      mode: v.mode(),
      cells: hOpt.series[0].data.length,
      x: hOpt.xAxis[0].data,
      y: hOpt.yAxis[0].data,
      texts: heatTexts,
    },
    chosen: v.chosen().map((c: any) => c.name),
    taskSeries: v.charts.tasks.getOption().series.map((s: any) => s.data.length),
    legend: [...document.querySelectorAll('#task-legend li')].map((l) => l.textContent),
    table: [...document.querySelectorAll('#config-table tbody tr')].map((tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent),
    ),
  };
}

describe.skipIf(process.env.BSLORA_SKIP_BROWSER_TESTS === '1')('configuration views in headless Chromium', () => {
  const prefix = uniquePrefix('cfgviews');
  const home = mkdtempSync(join(tmpdir(), 'bslora-cfgviews-'));
  let cp: ControlPlane;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let page: Page;
  let errors: () => string[];
  const sweep = uniqueSweepId('three-seeds');
  const other = uniqueSweepId('other-seeds');
  const limit = uniqueSweepId('other-limit');

  beforeAll(async () => {
    if (!chromiumAvailable())
      throw new Error(`no Chromium at ${CHROMIUM}: run infra/scripts/setup.sh as root, or set BSLORA_CHROMIUM`);
    cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
    seedThreeSeedSweep(cp, sweep, 'three seeds');
    seedThreeSeedSweep(cp, other, 'three more seeds');
    seedThreeSeedSweep(cp, limit, 'other eval limit', 100);
    ({ app, url } = await startDashboardServer(cp, 'token-0123456789abcdef'));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    errors = watchErrors(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await cp?.close();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  it("draws one point per configuration with its error bar, and marks the front's noise", async () => {
    await page.goto(`${url}/sweeps/${sweep}`);
    await page.waitForSelector('#config-table tbody tr');
    await page.waitForFunction(() => (window as any).bsloraConfigViews?.charts.params.getOption().series.length > 0);
    const s = await page.evaluate(readViewsInPage);
    expect(s.points).toHaveLength(6);
    for (const p of s.points) {
      expect(p.inSeries, p.name).toBe(true);
      expect(p.bar, `${p.name}: error bar from lo to hi`).toBe(true);
    }
    // Front over means: gate 2/2/4 (3,000 params) → slice 2/2/4 (3,072) → slice 4/2/2 (4,096). Slice 2/2/4's gain
    // over gate 2/2/4 is a point on unrelated items: within the noise. Slice 4/2/2's is not.
    expect(s.front).toEqual(['bslora-gate64-2/2/4', 'bslora-slice-2/2/4', 'bslora-slice-4/2/2']);
    expect(s.noise).toEqual(['bslora-slice-2/2/4']);
    const row = (name: string) => s.table.find((r) => r[0] === name)!;
    expect(row('bslora-slice-2/2/4')[5]).toBe('yes, within noise');
    expect(row('bslora-slice-4/2/2')[5]).toBe('yes');
    expect(row('lora-r8')[4]).toBe('reference');
    expect(row('bslora-slice-4/2/2')[3]).toMatch(/^9\d\.\d ± \d+\.\d \(3\)$/);
    expect(row('bslora-slice-4/2/2')[4]).toMatch(/^\+2\d\.\d \[\+\d+\.\d, \+\d+\.\d\]$/);
    // The hover card names the configuration (as text) with its seeds and intervals.
    const at = s.points.find((p: { name: string }) => p.name === 'bslora-slice-2/2/4')!;
    await page.locator('#view-params-chart').scrollIntoViewIfNeeded();
    const box = (await page.locator('#view-params-chart').boundingBox())!;
    await page.mouse.move(0, 0);
    await page.mouse.move(box.x + at.x, box.y + at.y, { steps: 4 });
    await page.waitForSelector('#view-params .tip');
    const tip = await page.textContent('#view-params .tip');
    expect(tip).toContain('bslora-slice-2/2/4');
    expect(tip).toContain('seeds 0, 1, 2');
    expect(tip).toContain('front: within noise of bslora-gate64-2/2/4');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.locator('#view-params').screenshot({ path: join(ARTIFACTS, 'configuration-params.png') });
  });

  it('draws accuracy against ρ per share mode with bands, and the ρ × φ heat map of the chosen mode', async () => {
    const s = await page.evaluate(readViewsInPage);
    expect(s.lines.map((l: { id: string }) => l.id).sort()).toEqual(['ratio:gate', 'ratio:slice']);
    expect(s.lines.find((l: { id: string }) => l.id === 'ratio:slice')!.xs).toEqual([0.5, 0.75]);
    expect(s.bands).toBe(2);
    // gate first (sorted), two cells; slice has three configurations in three cells.
    expect(s.heat).toMatchObject({ mode: 'gate', cells: 2 });
    await page.selectOption('#heat-mode', 'slice');
    const t = await page.evaluate(readViewsInPage);
    expect(t.heat).toMatchObject({ mode: 'slice', cells: 3, x: ['0.5', '0.75'], y: ['0.333', '0.5', '0.667'] });
    const slice422 = t.table.find((r) => r[0] === 'bslora-slice-4/2/2')![3];
    expect(t.heat.texts).toContain(slice422);
  });

  it('shows accuracy per task for the selected configurations', async () => {
    const s = await page.evaluate(readViewsInPage);
    // Preselected: the reference and the front.
    expect(s.chosen.sort()).toEqual(['bslora-gate64-2/2/4', 'bslora-slice-2/2/4', 'bslora-slice-4/2/2', 'lora-r8']);
    expect(s.taskSeries).toEqual([4, 4]);
    await page.locator('#task-picks label', { hasText: 'bslora-slice-2/2/4' }).locator('input').uncheck();
    await page.locator('#task-picks label', { hasText: 'bslora-gate64-4/2/2' }).locator('input').check();
    const t = await page.evaluate(readViewsInPage);
    expect(t.legend).toEqual(t.chosen);
    expect(t.chosen).toContain('bslora-gate64-4/2/2');
    expect(t.chosen).not.toContain('bslora-slice-2/2/4');
    expect(t.taskSeries).toEqual([4, 4]);
  });

  it('exports every view as SVG, PNG and CSV', async () => {
    for (const view of ['view-params', 'view-ratio', 'view-heat', 'view-tasks']) {
      for (const kind of ['svg', 'png', 'csv']) {
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.click(`#${view} [data-export="${kind}"]`),
        ]);
        expect(download.suggestedFilename()).toMatch(new RegExp(`^${sweep}-[a-z-]+\\.${kind}$`));
        const body = readFileSync((await download.path())!);
        if (kind === 'svg') expect(body.toString('utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
        if (kind === 'png')
          expect(body.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
        if (kind === 'csv') expect(body.toString('utf8').split('\n').length).toBeGreaterThan(2);
      }
    }
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#view-params [data-export="csv"]')]);
    const lines = readFileSync((await csv.path())!, 'utf8')
      .trim()
      .split('\n');
    expect(lines[0]).toMatch(
      /^configuration,method,share_mode,trainable,seeds,mean_acc,sd,lo,hi,on_front,front_within_noise/,
    );
    expect(lines).toHaveLength(7);
    expect(errors()).toEqual([]);
  });

  it('compares sweeps from the sweep list, and shows why incomparable sweeps are refused', async () => {
    await page.goto(url);
    await page.click('#compare-link');
    await page.waitForSelector('#compare-picks input[type=checkbox]');
    await page.check(`#compare-picks tr[data-sweep-id="${sweep}"] input`);
    await page.check(`#compare-picks tr[data-sweep-id="${other}"] input`);
    await page.click('#compare-button');
    await page.waitForFunction(() =>
      /2 sweeps, 36 trials/.test(document.getElementById('compare-status')?.textContent ?? ''),
    );
    expect(new URL(page.url()).searchParams.get('sweeps')!.split(',').sort()).toEqual([sweep, other].sort());
    const s = await page.evaluate(readViewsInPage);
    // The two sweeps' trials have distinct keys (fakePlan), so each configuration pools six seeds' runs.
    expect(s.table.find((r) => r[0] === 'lora-r8')![1]).toBe('6/6');
    expect(s.points).toHaveLength(6);

    await page.check(`#compare-picks tr[data-sweep-id="${limit}"] input`);
    await page.click('#compare-button');
    await page.waitForFunction(() => document.getElementById('compare-status')?.className === 'error');
    expect(await page.textContent('#compare-status')).toContain(
      'cannot be compared: different eval limit (200 vs 100)',
    );
    expect(await page.$('#config-table')).toBeNull();
    expect(errors().filter((e) => !/status of 422/.test(e))).toEqual([]);
  });
});
