/**
 * A 1,000-trial sweep followed live in headless Chromium: a real control plane, BullMQ on the shared Redis and a
 * dry-run agent (a Python worker started with `--dry-run`, which answers Train and Evaluate at once) run it while the
 * page is open. The page must follow it through server-sent events only: one download of the results table in
 * columns, then deltas, never a poll, never the sweep's detail or the results JSON again. At the end the page shows
 * every trial as the API does.
 *
 * A dry-run worker reports no parameters and zero accuracy, so no trial would be drawn. The store's `recordResult` is
 * wrapped (in this file only) to give each trial a parameter count from its configuration and an accuracy from its
 * trial key, as test/bench/dashboard-benchmark.ts does, so that the chart has a point per trial and a front.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Queue } from 'bullmq';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../control-plane/src/agent/agent.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { TRAIN_QUEUE } from '../../control-plane/src/queue/queues.js';
import { Store } from '../../control-plane/src/store/store.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { storedTrialRank } from '../helpers/stored-trial-rank.js';
import { CHROMIUM, chromiumAvailable, launchChromium, startDashboardServer, watchErrors } from './helpers.js';

const TRIALS = 1000;
const RANKS = [
  { local: 2, intra: 2, inter: 4 },
  { local: 4, intra: 2, inter: 2 },
  { local: 2, intra: 4, inter: 2 },
  { local: 1, intra: 1, inter: 6 },
];

{
  const orig = Store.prototype.recordResult;
  Store.prototype.recordResult = function (this: Store, trialKey, result) {
    const stored = storedTrialRank(this, trialKey)!;
    const rank = stored.isLora ? stored.rank * 2.5 : stored.rank;
    const total = Math.round(rank * 4096);
    const acc = 0.4 + rank / 50 + (0.1 * createHash('sha256').update(trialKey).digest().readUInt16BE(0)) / 65536;
    const metrics = { 'builtin:arith': { acc, accNorm: acc, n: 1 } };
    return orig.call(this, trialKey, {
      ...result,
      counts: { local: total, intra: 0, inter: 0, transform: 0, total },
      metrics,
    });
  };
}

function spec(): string {
  const seeds = TRIALS / (1 + RANKS.length);
  return JSON.stringify({
    name: 'live-1000',
    base_model: 'builtin:tiny-llama',
    train_data: 'builtin:arith',
    eval_tasks: ['builtin:arith'],
    target_modules: ['q_proj', 'v_proj'],
    training: { steps: 1, learning_rate: 0.001, batch_size: 2, seq_len: 32, eval_limit: 1 },
    grid: {
      method: ['lora', 'bslora'],
      lora_ranks: [8],
      share_mode: 'slice',
      ranks: RANKS,
      seeds: Array.from({ length: seeds }, (_, i) => 7000 + i),
    },
  });
}

describe.skipIf(process.env.BSLORA_SKIP_BROWSER_TESTS === '1')(
  'a 1,000-trial dry-run sweep followed live in Chromium',
  () => {
    const prefix = uniquePrefix('live1k');
    const home = mkdtempSync(join(tmpdir(), 'bslora-live1k-'));
    let cp: ControlPlane;
    let agent: Agent;
    let server: { app: FastifyInstance; url: string };
    let browser: Browser;

    beforeAll(async () => {
      if (!chromiumAvailable()) {
        throw new Error(
          `no Chromium at ${CHROMIUM}: run infra/scripts/setup.sh as root (or apt-get install chromium), set BSLORA_CHROMIUM, or BSLORA_SKIP_BROWSER_TESTS=1`,
        );
      }
      cp = await ControlPlane.start({ redisUrl: TEST_REDIS_URL, prefix, homeDir: home });
      [agent, browser] = await Promise.all([
        Agent.start({ ctx: cp.ctx, homeDir: home, devices: ['cpu'], dryRun: true }),
        launchChromium(),
      ]);
      server = await startDashboardServer(cp, 'live-1k-token');
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await server?.app.close();
      await agent?.close();
      await cp?.close();
      await deleteKeysWithPrefix(prefix);
      rmSync(home, { recursive: true, force: true });
    });

    it('applies the events as they come, never polls or downloads the sweep again, and ends showing what the API shows', async () => {
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
      const errors = watchErrors(page);
      // Every mode the page's live indicator takes, from the first.
      await page.addInitScript(() => {
        const w = window as unknown as { __modes: string[] };
        w.__modes = [];
        document.addEventListener('DOMContentLoaded', () => {
          const live = document.getElementById('live')!;
          new MutationObserver(() => w.__modes.push(live.dataset.mode ?? '')).observe(live, {
            attributes: true,
            attributeFilter: ['data-mode'],
          });
        });
      });
      // Training waits until the page is open and following, so that every trial finishes while it watches.
      const train = new Queue(TRAIN_QUEUE, { connection: cp.ctx.connection, prefix: cp.ctx.prefix });
      await train.pause();
      const submitted = await cp.submit(parseSweepSpec(spec(), { format: 'json' }));
      expect(submitted.trials).toHaveLength(TRIALS);
      const id = submitted.sweepId;
      const requests: string[] = [];
      page.on('request', (r) => requests.push(new URL(r.url()).pathname + new URL(r.url()).search));
      let docCompleted = -1;
      page.on('response', (r) => {
        if (r.url().includes('format=columns'))
          void r.json().then((doc: { completed: number }) => (docCompleted = doc.completed));
      });
      let finishedEvents = 0;
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Network.enable');
      cdp.on(
        'Network.eventSourceMessageReceived',
        (e) => (finishedEvents += e.eventName === 'trial-finished' ? 1 : 0),
      );

      await page.goto(`${server.url}/sweeps/${id}`);
      await page.waitForFunction(() => 'bsloraDashboard' in window);
      await expect.poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 30_000 }).toBe('sse');
      await train.resume();
      await train.close();

      await expect
        .poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 240_000, interval: 500 })
        .toBe('finished');
      expect(cp.store.getSweep(id)!.status).toBe('completed');
      // Updates came through the stream: one download of the table, the rest as events.
      const base = `/api/v1/sweeps/${id}`;
      expect(requests.filter((r) => r.startsWith(`${base}/results?format=columns`))).toHaveLength(1);
      expect(
        requests.filter((r) => r === base || r.startsWith(`${base}/results?include`) || r === `${base}/results`),
      ).toEqual([]);
      expect(requests.filter((r) => r.startsWith(`${base}/events`))).toHaveLength(1);
      expect(docCompleted).toBe(0);
      expect(finishedEvents).toBe(TRIALS);
      const modes = await page.evaluate(() => (window as unknown as { __modes: string[] }).__modes);
      expect(modes).toContain('sse');
      expect(modes.filter((m) => m === 'polling' || m === 'offline')).toEqual([]);

      // What the page shows is what the API says.
      const api = (await (await fetch(`${server.url}${base}/results`)).json()) as {
        loraBaseline: string;
        trials: {
          trialKey: string;
          status: string;
          trainable: number;
          meanAcc: number;
          onFront: boolean;
          loraShare: number;
          accDelta: number;
        }[];
      };
      const shown = await page.evaluate(() => {
        const d = (window as any).bsloraDashboard.data();
        return {
          loraBaseline: d.loraBaseline,
          completed: d.completed,
          trials: d.trials.map((t: any) => ({
            trialKey: t.trialKey,
            status: t.status,
            trainable: t.trainable,
            meanAcc: t.meanAcc,
            onFront: t.onFront,
            loraShare: t.loraShare,
            accDelta: t.accDelta,
          })),
        };
      });
      expect(shown.completed).toBe(TRIALS);
      expect(shown.loraBaseline).toBe(api.loraBaseline);
      expect(shown.trials).toEqual(
        api.trials.map(({ trialKey, status, trainable, meanAcc, onFront, loraShare, accDelta }) => ({
          trialKey,
          status,
          trainable,
          meanAcc,
          onFront,
          loraShare,
          accDelta,
        })),
      );
      expect(await page.locator('#stat-trials .stat-value').innerText()).toBe(`${TRIALS} / ${TRIALS}`);

      // Every trial is a point; the front is the API's, in order of parameters.
      const chart = await page.evaluate(() => {
        const c = (window as any).bsloraDashboard.chart;
        const opt = c.getOption();
        const points = opt.series
          .filter((s: any) => s.type === 'scatter')
          .reduce((n: number, s: any) => n + s.data.length, 0);
        return {
          points,
          front: opt.series.find((s: any) => s.id === 'pareto-front').data.map((d: any) => d.trialKey),
        };
      });
      expect(chart.points).toBe(TRIALS);
      const front = api.trials
        .filter((t) => t.onFront)
        .sort((a, b) => a.trainable - b.trainable)
        .map((t) => t.trialKey);
      expect(front.length).toBeGreaterThan(0);
      expect(chart.front).toEqual(front);

      // The table holds one page of rows, and turns to the next.
      expect(await page.locator('#trial-table tbody tr').count()).toBe(100);
      expect(await page.locator('#table-page').innerText()).toBe('rows 1–100 of 1,000');
      await page.click('#table-next');
      expect(await page.locator('#table-page').innerText()).toBe('rows 101–200 of 1,000');
      expect(await page.locator('#trial-table tbody tr').first().getAttribute('data-trial-key')).toBe(
        api.trials[100].trialKey,
      );
      expect(errors()).toEqual([]);
      await page.close();
    }, 300_000);

    it('shows a cancelled sweep as cancelled: trials that changed without an event of their own are loaded once more', async () => {
      const train = new Queue(TRAIN_QUEUE, { connection: cp.ctx.connection, prefix: cp.ctx.prefix });
      await train.pause();
      const text = JSON.parse(spec());
      text.name = 'cancel-me';
      text.grid.seeds = [9001, 9002];
      const { sweepId: id } = await cp.submit(parseSweepSpec(JSON.stringify(text), { format: 'json' }));
      const page = await browser.newPage();
      const errors = watchErrors(page);
      const columns: string[] = [];
      page.on('request', (r) => r.url().includes('format=columns') && columns.push(r.url()));
      await page.goto(`${server.url}/sweeps/${id}`);
      await expect.poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 30_000 }).toBe('sse');
      await cp.cancel(id);
      await train.resume();
      await train.close();
      await expect.poll(() => page.locator('#live').getAttribute('data-mode'), { timeout: 30_000 }).toBe('finished');
      await expect
        .poll(
          () =>
            page.evaluate(() =>
              (window as any).bsloraDashboard
                .data()
                .trials.map((t: any) => t.status)
                .join(','),
            ),
          { timeout: 10_000 },
        )
        .toBe(Array(10).fill('cancelled').join(','));
      expect(await page.locator('#sweep-status').innerText()).toBe('cancelled');
      expect(columns).toHaveLength(2);
      expect(errors()).toEqual([]);
      await page.close();
    }, 60_000);
  },
);
