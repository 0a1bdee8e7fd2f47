/**
 * The dashboard in a real browser: Debian's headless Chromium driven by playwright-core, against a real local stack
 * (Redis, BullMQ, a spawned PyTorch worker). The quick-start sweep is submitted over REST and followed live while it
 * trains; then every trial's point and the Pareto front are checked in the SVG that ECharts drew, a point is hovered
 * and its tooltip read, the table is sorted, the CSV downloaded, and a screenshot saved under test-artifacts/.
 * Sweeps written straight into the store cover every method and share mode, a deterministic live update, and
 * hostile strings (the spec schema refuses such names, the store does not).
 *
 * Needs /usr/bin/chromium (infra/scripts/setup.sh installs it as root); BSLORA_CHROMIUM points elsewhere.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../control-plane/src/local-stack.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { waitForSweepEnd } from '../helpers/sweep-helpers.js';
import {
  CHROMIUM,
  chromiumAvailable,
  FAKE_TASKS,
  finishFakeSweep,
  launchChromium,
  fakeFootprint,
  manyMethodsSweep,
  recordFakeResult,
  seedSweep,
  startDashboardServer,
  uniqueSweepId,
  watchErrors,
  watchLiveTransport,
  type FakeSweep,
} from './helpers.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const QUICKSTART = readFileSync(fileURLToPath(new URL('../../jobs/quickstart.yaml', import.meta.url)), 'utf8');
const FRONT_COLOR = '#dc2626';

/** What the page's chart shows: the option's points, whether each is drawn in the SVG, and the front line. */
interface ChartState {
  points: {
    trialKey: string;
    seriesId: string;
    seriesName: string;
    symbol: string;
    color: string;
    value: [number, number];
    x: number;
    y: number;
    drawn: boolean;
  }[];
  front: string[];
  frontDrawn: boolean;
  legend: string[];
  xAxis: { type: string; name: string };
  yAxis: { type: string; name: string };
  markLines: Record<string, number[]>;
  title: { show: boolean; text: string };
}

/** Runs in the page (self-contained: no closures). */
function readChartInPage(frontColor: string): ChartState {
  const d = (window as unknown as { bsloraDashboard: { chart: any } }).bsloraDashboard;
  const chart = d.chart;
  const opt = chart.getOption();
  const svgPaths = [...document.querySelectorAll('#chart svg path')];
  const symbols = svgPaths
    .filter((p) => /^matrix\(/.test(p.getAttribute('transform') ?? ''))
    .map((p) => {
      const m = /matrix\(([^)]+)\)/.exec(p.getAttribute('transform')!)!;
      const n = m[1].split(/[ ,]+/).map(Number);
      return { x: n[4], y: n[5], fill: p.getAttribute('fill'), stroke: p.getAttribute('stroke') };
    });
  const points: ChartState['points'] = [];
  const markLines: Record<string, number[]> = {};
  for (const s of opt.series) {
    if (s.markLine?.data?.length) markLines[s.id] = s.markLine.data.map((m: any) => m.yAxis ?? m.xAxis);
    if (s.type !== 'scatter') continue;
    for (const item of s.data) {
      const [x, y] = chart.convertToPixel({ seriesId: s.id }, item.value);
      const color = s.itemStyle.color;
      const drawn = symbols.some(
        (p) => Math.abs(p.x - x) < 1.5 && Math.abs(p.y - y) < 1.5 && (p.fill === color || p.stroke === color),
      );
      points.push({
        trialKey: item.trialKey,
        seriesId: s.id,
        seriesName: s.name,
        symbol: s.symbol,
        color,
        value: item.value,
        x,
        y,
        drawn,
      });
    }
  }
  const front = opt.series.find((s: any) => s.id === 'pareto-front');
  const frontPx: number[][] = front.data.map((i: any) => chart.convertToPixel({ seriesId: 'pareto-front' }, i.value));
  // The front is drawn when a red unfilled path visits every front point, in order of parameters.
  const frontDrawn =
    frontPx.length < 2 ||
    svgPaths
      .filter((p) => p.getAttribute('stroke') === frontColor && p.getAttribute('fill') === 'none')
      .some((p) => {
        const nums = (p.getAttribute('d') ?? '').match(/-?\d+(\.\d+)?/g)?.map(Number) ?? [];
        if (nums.length !== frontPx.length * 2) return false;
        return frontPx.every(([x, y], i) => Math.abs(nums[2 * i] - x) < 1.5 && Math.abs(nums[2 * i + 1] - y) < 1.5);
      });
  return {
    points,
    front: front.data.map((i: any) => i.trialKey),
    frontDrawn,
    legend: opt.legend[0].data.map((l: any) => (typeof l === 'string' ? l : l.name)),
    xAxis: { type: opt.xAxis[0].type, name: opt.xAxis[0].name },
    yAxis: { type: opt.yAxis[0].type, name: opt.yAxis[0].name },
    markLines,
    title: { show: opt.title[0].show, text: opt.title[0].text },
  };
}

const readChart = (page: Page) => page.evaluate(readChartInPage, FRONT_COLOR);

/** Waits until `n` points are drawn where they belong and the front line runs through its points (animations done). */
async function settledChart(page: Page, n: number, timeout = 10_000): Promise<ChartState> {
  let state: ChartState | undefined;
  await expect
    .poll(
      async () => {
        state = await readChart(page);
        return { drawn: state.points.filter((p) => p.drawn).length, frontDrawn: state.frontDrawn };
      },
      { timeout },
    )
    .toEqual({ drawn: n, frontDrawn: true });
  return state!;
}

interface PageTrial {
  trialKey: string;
  name: string;
  method: string;
  group: string;
  status: string;
  trainable: number | null;
  meanAcc: number | null;
  onFront: boolean;
  accuracy: Record<string, number | null>;
}
const pageData = (page: Page) =>
  page.evaluate(() => {
    const d = (
      window as unknown as {
        bsloraDashboard: { data: () => { trials: unknown[]; completed: number; sweep: { status: string } } };
      }
    ).bsloraDashboard.data();
    return { trials: d.trials as PageTrial[], completed: d.completed, status: d.sweep.status };
  });

/** Moves the mouse onto a trial's point and returns the tooltip's text once it shows that trial. */
async function hoverPoint(page: Page, trialKey: string, expectText: string): Promise<string> {
  const state = await readChart(page);
  const p = state.points.find((q) => q.trialKey === trialKey);
  expect(p, `trial ${trialKey} has a point`).toBeDefined();
  const box = (await page.locator('#chart').boundingBox())!;
  await page.mouse.move(0, 0);
  await page.mouse.move(box.x + p!.x, box.y + p!.y, { steps: 4 });
  let text = '';
  await expect
    .poll(
      async () => {
        text = await page.evaluate(() => {
          const el = document.querySelector<HTMLElement>('.chart-tooltip');
          if (!el) return '';
          const style = getComputedStyle(el);
          // The card is complete once the trial's plan (loaded on hover) is in it.
          if (el.querySelector('[data-loading]')) return '';
          return style.display === 'none' || style.visibility === 'hidden' || style.opacity === '0'
            ? ''
            : el.innerText;
        });
        return text;
      },
      { timeout: 5000 },
    )
    .toContain(expectText);
  return text;
}

const tableKeys = (page: Page) =>
  page.$$eval('#trial-table tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.trialKey ?? ''));

/** The expected row order when sorting by a numeric value: missing values last in both directions. */
function sortedKeys(trials: PageTrial[], value: (t: PageTrial) => number | null, dir: 1 | -1): string[] {
  return [...trials]
    .sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      if (va === null) return vb === null ? 0 : 1;
      if (vb === null) return -1;
      return (va - vb) * dir;
    })
    .map((t) => t.trialKey);
}

describe.skipIf(process.env.BSLORA_SKIP_BROWSER_TESTS === '1')('dashboard in headless Chromium', () => {
  const prefix = uniquePrefix('dash');
  const home = mkdtempSync(join(tmpdir(), 'bslora-dash-'));
  let stack: LocalStack;
  let server: { app: FastifyInstance; url: string };
  let browser: Browser;

  beforeAll(async () => {
    if (!chromiumAvailable()) {
      throw new Error(
        `no Chromium at ${CHROMIUM}: run infra/scripts/setup.sh as root (or apt-get install chromium), set BSLORA_CHROMIUM, or BSLORA_SKIP_BROWSER_TESTS=1`,
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    [stack, browser] = await Promise.all([
      startLocalStack({ homeDir: home, redisUrl: TEST_REDIS_URL, prefix, api: false }),
      launchChromium(),
    ]);
    server = await startDashboardServer(stack.controlPlane, stack.token);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.app.close();
    await stack?.stop();
    await deleteKeysWithPrefix(prefix);
    rmSync(home, { recursive: true, force: true });
  });

  const newPage = async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
    return { page, errors: watchErrors(page) };
  };

  describe('the quick-start sweep, trained for real', () => {
    // The sweep is submitted once for this group; each test opens a page of its own, so any one of them runs
    // alone (`-t`) and none depends on what another did to its page (a sort order, an open tooltip).
    let sweepId: string;
    let trained: Promise<void>;

    beforeAll(async () => {
      const res = await fetch(`${server.url}/api/v1/sweeps`, {
        method: 'POST',
        headers: { 'content-type': 'application/yaml', authorization: `Bearer ${stack.token}` },
        body: QUICKSTART,
      });
      expect(res.status).toBe(201);
      sweepId = ((await res.json()) as { id: string }).id;
      trained = waitForSweepEnd(stack.controlPlane.store, sweepId, 300_000).then((s) =>
        expect(s.status).toBe('completed'),
      );
      trained.catch(() => {});
    }, 30_000);

    /** A fresh page on the finished sweep, its chart settled. */
    const finishedPage = async () => {
      await trained;
      const { page, errors } = await newPage();
      await page.goto(`${server.url}/sweeps/${sweepId}`);
      await page.waitForFunction(() => 'bsloraDashboard' in window);
      await settledChart(page, 2);
      return { page, errors };
    };

    it('follows the sweep live over SSE while it trains, without reloading', async () => {
      const { page, errors } = await newPage();
      const live = await watchLiveTransport(page, sweepId);
      await page.goto(`${server.url}/sweeps/${sweepId}`);
      await page.waitForFunction(() => 'bsloraDashboard' in window);
      await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
      const first = await pageData(page);
      expect(first.trials).toHaveLength(2);
      // Opened while training: neither trial has finished yet (the worker needs seconds per trial).
      expect(first.completed).toBeLessThan(2);
      await expect.poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 10_000 }).toBe('sse');

      await expect
        .poll(async () => (await pageData(page)).status, { timeout: 300_000, interval: 500 })
        .toBe('completed');
      await settledChart(page, 2);
      expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
      expect(await page.locator('#sweep-status').innerText()).toBe('completed');
      await expect.poll(() => page.locator('#live').getAttribute('data-mode')).toBe('finished');
      expect(await page.locator('#stat-trials .stat-value').innerText()).toBe('2 / 2');
      expect(await page.locator('#checks').isHidden()).toBe(true);
      await live.expectSseOnly(page);
      expect(errors()).toEqual([]);
      await page.close();
    }, 360_000);

    it("draws every trial's point and the Pareto front in the SVG", async () => {
      const { page, errors } = await finishedPage();
      const data = await pageData(page);
      const state = await readChart(page);
      expect(state.xAxis).toEqual({ type: 'log', name: 'trainable parameters (log)' });
      expect(state.yAxis).toEqual({ type: 'value', name: 'mean accuracy' });
      expect(state.title.show).toBe(false);
      expect(state.points.map((p) => p.trialKey).sort()).toEqual(data.trials.map((t) => t.trialKey).sort());
      for (const p of state.points) expect(p.drawn, `point of ${p.trialKey} drawn`).toBe(true);
      const lora = data.trials.find((t) => t.method === 'lora')!;
      const bs = data.trials.find((t) => t.method === 'bslora')!;
      const loraPoint = state.points.find((p) => p.trialKey === lora.trialKey)!;
      const bsPoint = state.points.find((p) => p.trialKey === bs.trialKey)!;
      expect(loraPoint.symbol).toBe('diamond');
      expect(loraPoint.seriesName).toBe('LoRA (baseline)');
      expect(bsPoint.seriesName).toBe('BSLoRA slice');
      expect(bsPoint.color).not.toBe(loraPoint.color);
      // Fewer parameters sit further left on the log axis.
      expect(bsPoint.x).toBeLessThan(loraPoint.x);
      // The baseline's reference lines: its accuracy and its size.
      expect(state.markLines['group:lora']).toEqual([lora.meanAcc, lora.trainable]);
      // The front is the API's, in order of parameters, and drawn through its points.
      const api = (await (await fetch(`${server.url}/api/v1/sweeps/${sweepId}/results`)).json()) as {
        trials: { trialKey: string; onFront: boolean; trainable: number }[];
      };
      const expectedFront = api.trials
        .filter((t) => t.onFront)
        .sort((a, b) => a.trainable - b.trainable)
        .map((t) => t.trialKey);
      expect(expectedFront.length).toBeGreaterThan(0);
      expect(state.front).toEqual(expectedFront);
      expect(state.frontDrawn).toBe(true);
      expect(state.legend).toEqual(expect.arrayContaining(['LoRA (baseline)', 'BSLoRA slice', 'Pareto front']));
      expect(errors()).toEqual([]);
      await page.close();
    }, 360_000);

    it('shows the full config and per-task accuracy when a point is hovered', async () => {
      const { page, errors } = await finishedPage();
      const data = await pageData(page);
      const bs = data.trials.find((t) => t.method === 'bslora')!;
      const text = await hoverPoint(page, bs.trialKey, bs.name);
      expect(text).toContain('bslora-slice-2/2/4-s0');
      expect(text).toMatch(/share mode\s+slice/);
      expect(text).toMatch(/ranks \(local\/intra\/inter\)\s+2\/2\/4/);
      expect(text).toMatch(/learning rate\s+0\.003/);
      expect(text).toMatch(/training\s+30 steps · batch 8 · seq 64/);
      expect(text).toMatch(/seed\s+0/);
      expect(text).toMatch(new RegExp(`trainable\\s+${bs.trainable!.toLocaleString('en-US')}`));
      const acc = bs.accuracy['builtin:arith']!;
      expect(text).toMatch(new RegExp(`arith\\s+${(acc * 100).toFixed(1)}%`));
      expect(text).toMatch(/vs lora-r8-s0\s+[+−±]\d+\.\d pts/);
      expect(errors()).toEqual([]);
      await page.close();
    }, 360_000);

    it('has one table row per trial, sortable by clicking headers', async () => {
      const { page, errors } = await finishedPage();
      const data = await pageData(page);
      expect(await tableKeys(page)).toEqual(data.trials.map((t) => t.trialKey));
      const headers = await page.$$eval('#trial-table thead th', (ths) =>
        ths.map((th) => (th as HTMLElement).innerText.trim().toLowerCase()),
      );
      expect(headers).toEqual(expect.arrayContaining(['trial', 'scale', 'trainable', 'mean acc', 'arith', 'status']));

      await page.click('#trial-table th[data-col="trainable"] button');
      expect(await tableKeys(page)).toEqual(sortedKeys(data.trials, (t) => t.trainable, 1));
      expect(await page.getAttribute('#trial-table th[data-col="trainable"]', 'aria-sort')).toBe('ascending');
      await page.click('#trial-table th[data-col="trainable"] button');
      expect(await tableKeys(page)).toEqual(sortedKeys(data.trials, (t) => t.trainable, -1));
      expect(await page.getAttribute('#trial-table th[data-col="trainable"]', 'aria-sort')).toBe('descending');
      await page.click('#trial-table th[data-col="meanAcc"] button');
      expect(await tableKeys(page)).toEqual(sortedKeys(data.trials, (t) => t.meanAcc, 1));
      expect(errors()).toEqual([]);
      await page.close();
    }, 360_000);

    it('downloads the results as CSV with a header', async () => {
      const { page, errors } = await finishedPage();
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-link')]);
      expect(download.suggestedFilename()).toMatch(/\.csv$/);
      const csv = readFileSync((await download.path())!, 'utf8');
      const lines = csv.trim().split('\n');
      expect(lines[0]).toMatch(/^trial,method,status,trainable,/);
      expect(lines[0]).toContain('acc:builtin:arith');
      // A row per trial, then a row per configuration (each trial here is its configuration's only seed).
      expect(lines).toHaveLength(5);
      expect(errors()).toEqual([]);
      await page.close();
    }, 360_000);

    it('saves screenshots, without and with a tooltip open', async () => {
      const { page, errors } = await finishedPage();
      await page.click('#trial-table th[data-col="trainable"] button');
      await page.mouse.move(0, 0);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-quickstart.png'), fullPage: true });
      const data = await pageData(page);
      await hoverPoint(page, data.trials.find((t) => t.method === 'bslora')!.trialKey, 'bslora-slice');
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-quickstart-tooltip.png') });
      expect(errors()).toEqual([]);
      await page.close();
    }, 360_000);
  });

  it('shows every method and share mode in its own colour, the base model as a reference line, and failures', async () => {
    const id = uniqueSweepId('many');
    const spec = manyMethodsSweep(id);
    seedSweep(stack.controlPlane, spec);
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/sweeps/${id}`);
    await page.waitForFunction(() => 'bsloraDashboard' in window);

    const plotted = spec.trials.filter((t) => t.method !== 'base' && (t.status ?? 'completed') === 'completed');
    const state = await settledChart(page, plotted.length);
    const bySeries = new Map<string, { color: string; symbol: string; n: number }>();
    for (const p of state.points)
      bySeries.set(p.seriesName, { color: p.color, symbol: p.symbol, n: (bySeries.get(p.seriesName)?.n ?? 0) + 1 });
    expect([...bySeries.keys()]).toEqual(['LoRA (baseline)', 'BSLoRA slice', 'BSLoRA gate', 'BSLoRA kron', 'VeRA']);
    expect(new Set([...bySeries.values()].map((s) => s.color)).size).toBe(5);
    expect(bySeries.get('LoRA (baseline)')).toMatchObject({ symbol: 'diamond', n: 3 });
    expect(state.legend).toEqual([
      'LoRA (baseline)',
      'BSLoRA slice',
      'BSLoRA gate',
      'BSLoRA kron',
      'VeRA',
      'Pareto front',
      'base model (untuned)',
    ]);
    // The largest LoRA is the baseline; the base model (no trainable parameters) is a line at its accuracy.
    expect(state.markLines['group:lora']).toEqual([0.64, 163_840]);
    expect(state.markLines['base-reference']).toEqual([0.4]);
    // Front: VeRA → kron 2/2/4 → slice 2/2/4 → slice 4/4/8 → LoRA r16.
    const data = await pageData(page);
    const name = (key: string) => data.trials.find((t) => t.trialKey === key)!.name;
    expect(state.front.map(name)).toEqual([
      'vera-r256-s0',
      'bslora-kron16-2/2/4-s0',
      'bslora-slice-2/2/4-s0',
      'bslora-slice-4/4/8-s0',
      'lora-r16-s0',
    ]);
    expect(state.frontDrawn).toBe(true);

    // Table: every trial, a column per task (short names, full names on hover), the failure explained.
    expect(await page.locator('#trial-table tbody tr').count()).toBe(spec.trials.length);
    expect(await page.locator('#trial-table th[data-col="task:1"]').innerText()).toMatch(/boolq/i);
    expect(await page.getAttribute('#trial-table th[data-col="task:1"]', 'title')).toBe(
      `accuracy on ${FAKE_TASKS[1]}`,
    );
    expect(await page.locator('#failures').innerText()).toContain('bslora-kron16-4/4/8-s0: CUDA out of memory (fake)');
    expect(await page.locator('#sweep-status').innerText()).toBe('completed with failures');
    // The spec's expect rules, judged on the results.
    expect(await page.locator('#checks .hint').innerText()).toBe('1 of 2 passed');
    const verdicts = await page.$$eval('#checks li', (lis) => lis.map((li) => (li as HTMLElement).innerText));
    expect(verdicts[0]).toMatch(/^passed\s+BSLoRA within 2 points of LoRA r16 at half its size/);
    expect(verdicts[1]).toMatch(/^failed\s+VeRA matches LoRA r16/);

    const gate = data.trials.find((t) => t.name === 'bslora-gate64-2/4/8-s0')!;
    const text = await hoverPoint(page, gate.trialKey, gate.name);
    expect(text).toMatch(/share mode\s+gate 64/);
    expect(text).toMatch(/boolq\s+60\.0%/);
    expect(text).toMatch(/arith\s+54\.0%/);
    expect(text).toMatch(/of lora-r16-s0\s+19%/);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-all-methods.png'), fullPage: true });
    expect(errors()).toEqual([]);
    await page.close();
  }, 60_000);

  it('plots accuracy against a serving footprint measure chosen in the x-axis selector', async () => {
    const id = uniqueSweepId('footprint');
    const spec = manyMethodsSweep(id);
    seedSweep(stack.controlPlane, spec);
    const { page, errors } = await newPage();
    await page.goto(`${server.url}/sweeps/${id}`);
    await page.waitForFunction(() => 'bsloraDashboard' in window);
    const plotted = spec.trials.filter((t) => t.method !== 'base' && (t.status ?? 'completed') === 'completed');
    const before = await settledChart(page, plotted.length);
    expect(before.xAxis.name).toBe('trainable parameters (log)');
    const data = await pageData(page);
    const fake = (key: string) => plotted.find((t) => t.name === data.trials.find((d) => d.trialKey === key)!.name)!;
    for (const p of before.points) expect(p.value[0]).toBe(fake(p.trialKey).total);

    await page.selectOption('#x-measure', 'mergedResidentBytesBf16');
    await page.waitForFunction(() => document.getElementById('chart-title')?.textContent?.startsWith('Merged'));
    const merged = await settledChart(page, plotted.length);
    expect(merged.xAxis.name).toBe('merged into LoRA, bytes (bf16) (log)');
    expect(await page.locator('#chart-title').innerText()).toBe('Merged into LoRA, bytes (bf16) vs mean accuracy');
    expect(merged.points.length).toBe(plotted.length);
    for (const p of merged.points) {
      const t = fake(p.trialKey);
      expect(p.value, t.name).toEqual([
        fakeFootprint(t).mergedResidentBytesBf16,
        before.points.find((b) => b.trialKey === p.trialKey)!.value[1],
      ]);
      expect(p.drawn, t.name).toBe(true);
    }
    // Each point moved along x only; a BSLoRA point lies 3× further right here than by its parameter count.
    const slice = data.trials.find((t) => t.name === 'bslora-slice-2/2/4-s0')!;
    expect(merged.points.find((p) => p.trialKey === slice.trialKey)!.value[0]).toBe(6 * fake(slice.trialKey).total);

    await page.selectOption('#x-measure', 'adaptersPerGib');
    await page.waitForFunction(() => document.getElementById('chart-title')?.textContent?.startsWith('Adapters'));
    const perGib = await settledChart(page, plotted.length);
    for (const p of perGib.points) expect(p.value[0]).toBeCloseTo(2 ** 30 / (2 * fake(p.trialKey).total));
    // The tooltip still reports the trial's own parameter count.
    const text = await hoverPoint(page, slice.trialKey, slice.name);
    expect(text).toContain(slice.name);
    expect(errors()).toEqual([]);
    await page.close();
  }, 60_000);

  it('adds points as trials finish while the page is open, over SSE', async () => {
    const id = uniqueSweepId('live');
    const sweep: FakeSweep = { ...manyMethodsSweep(id), name: 'live-updates' };
    sweep.trials = sweep.trials.slice(0, 5).map((t) => ({ ...t, status: 'queued' as const }));
    const plans = seedSweep(stack.controlPlane, sweep, { finish: false });
    const cp = stack.controlPlane;
    cp.store.setSweepStatus(id, 'running');
    cp.store.setTrialStatus(plans[0].trialKey, 'running');
    cp.progress.set(plans[0].trialKey, { phase: 'train', step: 3, totalSteps: 10, loss: 1.234, etaSeconds: null });

    const { page, errors } = await newPage();
    const live = await watchLiveTransport(page, id);
    await page.goto(`${server.url}/sweeps/${id}`);
    await page.waitForFunction(() => 'bsloraDashboard' in window);
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const empty = await readChart(page);
    expect(empty.points).toHaveLength(0);
    expect(empty.title).toEqual({ show: true, text: 'No finished trials yet' });
    expect(
      await page.locator(`#trial-table tr[data-trial-key="${plans[0].trialKey}"] .progress-text`).innerText(),
    ).toBe('train 3/10 · loss 1.234');
    // Updates must come over the event stream: the results below are recorded only once it is open.
    await expect.poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 10_000 }).toBe('sse');

    for (let i = 0; i < plans.length; i++) {
      recordFakeResult(cp, id, plans[i], sweep.trials[i], sweep.tasks);
      await settledChart(page, i + 1);
      expect(await page.locator('#stat-trials .stat-value').innerText()).toBe(`${i + 1} / ${plans.length}`);
    }
    finishFakeSweep(cp, id);
    await expect.poll(() => page.locator('#sweep-status').innerText(), { timeout: 10_000 }).toBe('completed');
    await expect.poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 10_000 }).toBe('finished');
    await settledChart(page, plans.length);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await live.expectSseOnly(page);
    expect(errors()).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows hostile sweep, trial and task names as text and runs none of them', async () => {
    const id = uniqueSweepId('xss');
    const name = '<script>window.__xss=1</script>';
    const description = '<img src=x onerror="window.__xss=2">';
    const trialName = '<img src=x onerror=window.__xss=3>';
    const task = '<svg onload="window.__xss=4">';
    seedSweep(stack.controlPlane, {
      id,
      name,
      description,
      tasks: [task],
      trials: [
        { name: trialName, method: 'lora', rank: 8, total: 81_920, acc: [0.6] },
        {
          name: '"><script>window.__xss=5</script>{b}',
          method: 'bslora',
          shareMode: 'slice',
          ranks: { local: 2, intra: 2, inter: 4 },
          total: 24_576,
          acc: [0.58],
        },
      ],
    });
    const { page, errors } = await newPage();
    const injected = () =>
      page.evaluate(() => ({
        xss: (window as unknown as { __xss?: unknown }).__xss,
        // The page itself has exactly one script (its module) and no images or inline handlers.
        scripts: [...document.scripts].map((s) => s.getAttribute('src')),
        elements: document.querySelectorAll('img, iframe, object, embed, [onerror], [onload], [onclick]').length,
      }));

    await page.goto(`${server.url}/`);
    const link = page.locator(`#sweep-table tr[data-sweep-id="${id}"] a`);
    await expect.poll(() => link.innerText()).toBe(name);
    expect(await page.locator(`#sweep-table tr[data-sweep-id="${id}"] td.num`).innerText()).toBe('2 / 2');
    expect(await injected()).toEqual({ xss: undefined, scripts: ['/assets/app.js'], elements: 0 });

    await link.click();
    await page.waitForFunction(() => 'bsloraDashboard' in window);
    expect(page.url()).toBe(`${server.url}/sweeps/${id}`);
    expect(await page.locator('#sweep-name').innerText()).toBe(name);
    expect(await page.locator('#crumb-name').innerText()).toBe(name);
    expect(await page.locator('#sweep-description').innerText()).toBe(description);
    expect(await page.title()).toBe(`${name} · BSLoRA`);
    const rows = await page.$$eval('#trial-table tbody .trial-name', (els) =>
      els.map((e) => (e as HTMLElement).innerText.trim()),
    );
    expect(rows[0]).toContain(trialName);
    expect(rows[1]).toContain('"><script>window.__xss=5</script>{b}');
    expect(await page.locator('#trial-table th[data-col="task:0"] button').textContent()).toBe(task);

    await settledChart(page, 2);
    const data = await pageData(page);
    const text = await hoverPoint(page, data.trials[0].trialKey, trialName);
    expect(text).toContain(task);
    expect(text).toContain('60.0%');
    const text2 = await hoverPoint(page, data.trials[1].trialKey, '"><script>window.__xss=5</script>{b}');
    expect(text2).toContain('vs <img src=x onerror=window.__xss=3>');
    expect(await injected()).toEqual({ xss: undefined, scripts: ['/assets/app.js'], elements: 0 });
    expect(errors()).toEqual([]);
    await page.close();
  }, 60_000);

  it('explains a sweep that does not exist', async () => {
    const page = await browser.newPage();
    const errors = watchErrors(page, [/status of 404/]);
    const res = await page.goto(`${server.url}/sweeps/sw-nope`);
    expect(res!.status()).toBe(404);
    await expect.poll(() => page.locator('#load-error').innerText()).toContain("no sweep has id 'sw-nope'");
    expect(errors()).toEqual([]);
    await page.close();
  });
});
