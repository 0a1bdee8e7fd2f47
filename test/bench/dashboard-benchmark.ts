/**
 * Dashboard benchmark in Chromium (issue 19; results in docs/benchmarks.md, "Dashboard at 10,000 trials").
 *
 *   npx tsx test/bench/dashboard-benchmark.ts [--trials 10000] [--workers 2] [--opens 3] [--json out.json]
 *                                             [--redis redis://127.0.0.1:6379] [--timeout-s 1800]
 *                                             [--profile page.cpuprofile]  (the page's CPU profile, first open)
 *
 * One ControlPlane, one dry-run Agent (`--workers` Python workers started with `--dry-run`, which answer Train and
 * Evaluate at once without a model) and the REST API with the dashboard, in this process, on a real Redis under a
 * unique queue prefix that is deleted afterwards, with a temporary store. Debian's Chromium (playwright-core;
 * BSLORA_CHROMIUM points elsewhere) opens the pages; the Chrome DevTools Protocol counts the bytes.
 *
 * A dry-run worker reports no parameters and zero accuracy, so no trial would have a point. The store's
 * `recordResult` is wrapped to give each trial a count from its configuration (LoRA rank; BSLoRA rank triple) and an
 * accuracy drawn from a hash of its trial key, so that the chart has a point per trial, a LoRA baseline and a front.
 *
 * 1. **Watch live**: the spec (`--trials` trials: one LoRA r8 and four BSLoRA rank triples per seed) is submitted,
 *    and the sweep's page is opened at once and left open until the sweep has finished and the page says so
 *    (`#live[data-mode=finished]`). Measured: every byte the page received (the wire size: headers and bodies as
 *    sent, gzip where the server used it), by kind (documents, events, assets), and its JS heap at the end. The
 *    final results table (GET …/results, as JSON and gzipped, and as CSV) is the yardstick.
 * 2. **Open the finished sweep**, `--opens` times in a fresh browser context (empty cache): the time from navigation
 *    to the first frame with every trial's point in the chart, the bytes until the network is quiet, the time from
 *    moving the mouse onto a point to its hover card showing, the long tasks (over 50 ms) on the main thread, and
 *    the JS heap after a garbage collection. Medians are reported.
 *
 * "First chart" is read from the chart instance, so it works for any version of the page that exposes
 * `window.bsloraDashboard.chart` (the page before issue 19 does too): the first animation frame in which its scatter
 * series hold every plotted trial, and the frame after it (so the points have been painted).
 *
 * Not a vitest test and not part of `make test`: a 10,000-trial sweep takes a minute or more to run on 2 cores.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { Agent } from '../../control-plane/src/agent/agent.js';
import { buildApp } from '../../control-plane/src/api/app.js';
import { ControlPlane } from '../../control-plane/src/control-plane.js';
import { registerDashboardRoutes } from '../../control-plane/src/dashboard/routes.js';
import { Store } from '../../control-plane/src/store/store.js';
import { parseSweepSpec } from '../../control-plane/src/sweep-specs/index.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { storedTrialRank } from '../helpers/stored-trial-rank.js';

const { values: args } = parseArgs({
  options: {
    trials: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    opens: { type: 'string', default: '3' },
    redis: { type: 'string', default: TEST_REDIS_URL },
    json: { type: 'string' },
    'timeout-s': { type: 'string', default: '1800' },
    profile: { type: 'string' },
  },
});
const TRIALS = Number(args.trials);
const WORKERS = Number(args.workers);
const OPENS = Number(args.opens);
const CHROMIUM = process.env.BSLORA_CHROMIUM ?? '/usr/bin/chromium';
// Ten trials per seed (LoRA and nine triples): 10,000 trials take 1,000 seeds, the spec's limit for one list.
const RANK_TRIPLES = [
  { local: 2, intra: 2, inter: 4 },
  { local: 4, intra: 2, inter: 2 },
  { local: 2, intra: 4, inter: 2 },
  { local: 1, intra: 1, inter: 6 },
  { local: 1, intra: 2, inter: 4 },
  { local: 2, intra: 1, inter: 4 },
  { local: 4, intra: 1, inter: 1 },
  { local: 1, intra: 4, inter: 2 },
  { local: 2, intra: 2, inter: 2 },
];

const log = (line: string) => process.stderr.write(`[dashboard-bench] ${line}\n`);
const fmt = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const mb = (bytes: number) => `${fmt(bytes / 1e6, 2)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

// ------------------------------------------------------------------------------------------- synthetic results
/** A deterministic number in [0, 1) from a trial key. */
function unit(key: string, salt: string): number {
  return createHash('sha256').update(`${salt}:${key}`).digest().readUInt32BE(0) / 2 ** 32;
}
const PER_RANK = 4096; // parameters per unit of rank on the tiny model's q_proj and v_proj (a round figure)
{
  const orig = Store.prototype.recordResult;
  Store.prototype.recordResult = function (this: Store, trialKey, result) {
    const stored = storedTrialRank(this, trialKey);
    if (!stored) return orig.call(this, trialKey, result);
    const { isLora, rank } = stored;
    const total = Math.round(rank * PER_RANK * (isLora ? 2.5 : 1));
    const acc = 0.35 + (isLora ? 0.2 : 0.1 + rank / 40) + 0.15 * unit(trialKey, 'acc');
    const metrics = Object.fromEntries(
      Object.keys(result.metrics ?? { 'builtin:arith': 0 }).map((task) => [task, { acc, accNorm: acc, n: 16 }]),
    );
    return orig.call(this, trialKey, {
      ...result,
      counts: { local: total, intra: 0, inter: 0, transform: 0, total, base_total: 1_000_000 },
      metrics,
    });
  };
}

function specOf(trials: number): string {
  const perSeed = 1 + RANK_TRIPLES.length;
  const seeds = Math.ceil(trials / perSeed);
  return JSON.stringify({
    name: `dashboard-bench-${trials}`,
    base_model: 'builtin:tiny-llama',
    train_data: 'builtin:arith',
    eval_tasks: ['builtin:arith'],
    target_modules: ['q_proj', 'v_proj'],
    training: { steps: 1, learning_rate: 0.001, batch_size: 2, seq_len: 32, eval_limit: 1 },
    grid: {
      method: ['lora', 'bslora'],
      lora_ranks: [8],
      share_mode: 'slice',
      ranks: RANK_TRIPLES,
      // Fresh seeds per run, so that nothing is reused from an earlier run on the same store.
      seeds: Array.from({ length: seeds }, (_, i) => i + 1_000_000 * (1 + (randomBytes(2).readUInt16BE(0) % 1000))),
    },
    budget: { max_trials: trials },
  });
}

// ------------------------------------------------------------------------------------------------ byte counting
type Kind = 'detail' | 'results' | 'columns' | 'events' | 'trial' | 'list' | 'assets' | 'page' | 'other';
function kindOf(url: string, sweepId: string): Kind {
  const path = new URL(url).pathname;
  const base = `/api/v1/sweeps/${sweepId}`;
  if (path === base) return 'detail';
  if (path === `${base}/events`) return 'events';
  if (path === `${base}/results`) return new URL(url).searchParams.get('format') === 'columns' ? 'columns' : 'results';
  if (path.startsWith(`${base}/trials`)) return 'trial';
  if (path === '/api/v1/sweeps') return 'list';
  if (path.startsWith('/assets/')) return 'assets';
  if (path === `/sweeps/${sweepId}`) return 'page';
  return 'other';
}

interface Traffic {
  /** Bytes on the wire: headers and bodies as sent (gzipped where the server gzipped). */
  bytes(): Record<Kind | 'total', number>;
  /** Body bytes after decoding (what the page had to parse). */
  decoded(): Record<Kind | 'total', number>;
  requests(): Record<Kind, number>;
  /** Bytes of the SSE messages' data fields, and how many there were. */
  events(): { messages: number; dataBytes: number; byName: Record<string, number> };
  pending(): number;
}

async function countTraffic(cdp: CDPSession, sweepId: string): Promise<Traffic> {
  const byRequest = new Map<string, { kind: Kind; bytes: number; decoded: number; done: boolean }>();
  const requests: Partial<Record<Kind, number>> = {};
  const events = { messages: 0, dataBytes: 0, byName: {} as Record<string, number> };
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', (e) => {
    const kind = kindOf(e.request.url, sweepId);
    byRequest.set(e.requestId, { kind, bytes: 0, decoded: 0, done: false });
    requests[kind] = (requests[kind] ?? 0) + 1;
  });
  // Bytes as they arrive (an event stream never finishes while it is open), then the exact total when it does.
  cdp.on('Network.dataReceived', (e) => {
    const r = byRequest.get(e.requestId);
    if (r && !r.done) r.bytes += e.encodedDataLength;
    if (r) r.decoded += e.dataLength;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = byRequest.get(e.requestId);
    if (r) Object.assign(r, { bytes: Math.max(r.bytes, e.encodedDataLength), done: true });
  });
  cdp.on('Network.loadingFailed', (e) => {
    const r = byRequest.get(e.requestId);
    if (r) r.done = true;
  });
  cdp.on('Network.eventSourceMessageReceived', (e) => {
    events.messages += 1;
    events.dataBytes += Buffer.byteLength(e.data);
    events.byName[e.eventName] = (events.byName[e.eventName] ?? 0) + 1;
  });
  return {
    bytes() {
      const out = { total: 0 } as Record<Kind | 'total', number>;
      for (const r of byRequest.values()) {
        out[r.kind] = (out[r.kind] ?? 0) + r.bytes;
        out.total += r.bytes;
      }
      return out;
    },
    decoded() {
      const out = { total: 0 } as Record<Kind | 'total', number>;
      for (const r of byRequest.values()) {
        out[r.kind] = (out[r.kind] ?? 0) + r.decoded;
        out.total += r.decoded;
      }
      return out;
    },
    requests: () => ({ ...requests }) as Record<Kind, number>,
    events: () => ({ ...events, byName: { ...events.byName } }),
    pending: () => [...byRequest.values()].filter((r) => !r.done && r.kind !== 'events').length,
  };
}

async function heapUsed(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  return usedSize;
}

/**
 * Runs in the page (as text: tsx would wrap a function's inner functions in a helper the page lacks): the ms from
 * navigation to the frame after the one in which the chart held `n` points.
 */
const firstChartInPage = (n: number) => `new Promise((resolve) => {
  const points = () => {
    const chart = window.bsloraDashboard && window.bsloraDashboard.chart;
    const model = chart && chart.getModel && chart.getModel();
    if (!model) return 0;
    let count = 0;
    for (const s of model.getSeries()) if (s.subType === 'scatter') count += s.getData().count();
    return count;
  };
  const tick = () => {
    if (points() >= ${n}) requestAnimationFrame(() => resolve(performance.now()));
    else requestAnimationFrame(tick);
  };
  tick();
})`;

/**
 * How responsive the chart is: the ms from moving the mouse onto a point (the first point of the first scatter
 * series) until the hover card shows, as the test driver sees it.
 */
async function hoverLatency(page: Page): Promise<number> {
  const box = (await page.locator('#chart').boundingBox())!;
  const at = (await page.evaluate(`(() => {
    const c = window.bsloraDashboard.chart;
    const s = c.getOption().series.find((x) => x.type === 'scatter' && x.data.length);
    const d = s.data[0];
    return c.convertToPixel({ seriesId: s.id }, Array.isArray(d) ? d : d.value);
  })()`)) as [number, number];
  await page.mouse.move(0, 0);
  const t = performance.now();
  await page.mouse.move(box.x + at[0], box.y + at[1]);
  await page.waitForFunction(
    `(() => { const el = document.querySelector('.chart-tooltip'); return !!el && getComputedStyle(el).display !== 'none' && el.innerText.includes('mean accuracy'); })()`,
    undefined,
    { polling: 'raf', timeout: 60_000 },
  );
  const ms = performance.now() - t;
  await page.mouse.move(0, 0);
  return ms;
}

async function quiet(traffic: Traffic, ms = 1000): Promise<void> {
  let last = JSON.stringify(traffic.bytes());
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const now = JSON.stringify(traffic.bytes());
    if (now !== last || traffic.pending() > 0) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= ms) return;
  }
}

async function longTasksOf(page: Page): Promise<{ count: number; ms: number }> {
  const tasks = (await page.evaluate('window.__longTasks || []')) as number[];
  return { count: tasks.length, ms: tasks.reduce((a, b) => a + b, 0) };
}
const LONG_TASKS_SCRIPT = `window.__longTasks = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });`;

// ----------------------------------------------------------------------------------------------------------- main
async function main(): Promise<void> {
  const prefix = uniquePrefix('dashbench');
  const home = mkdtempSync(join(tmpdir(), 'bslora-dashbench-'));
  let cp: ControlPlane | undefined;
  let agent: Agent | undefined;
  let browser: Browser | undefined;
  let app: ReturnType<typeof buildApp> | undefined;
  const cleanup = async () => {
    await browser?.close().catch(() => {});
    await app?.close().catch(() => {});
    await agent?.close().catch(() => {});
    await cp?.close().catch(() => {});
    browser = app = agent = cp = undefined;
    await deleteKeysWithPrefix(prefix).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    log(
      `${TRIALS} trials, ${WORKERS} dry-run workers, prefix ${prefix}; load average ${loadavg()
        .map((l) => fmt(l, 2))
        .join(' ')}`,
    );
    cp = await ControlPlane.start({ redisUrl: args.redis!, prefix, homeDir: home });
    agent = await Agent.start({
      ctx: cp.ctx,
      homeDir: home,
      devices: Array.from({ length: WORKERS }, () => 'cpu'),
      dryRun: true,
    });
    app = buildApp({ controlPlane: cp, token: 'bench-token' });
    registerDashboardRoutes(app, { controlPlane: cp });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    await new Promise((r) => setTimeout(r, 2000)); // the workers finish importing

    // 1. Watch the sweep live, from submit to end.
    const spec = parseSweepSpec(specOf(TRIALS), { format: 'json' });
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    await page.addInitScript(LONG_TASKS_SCRIPT);
    const cdp = await context.newCDPSession(page);
    const t0 = performance.now();
    const submitted = await cp.submit(spec);
    const sweepId = submitted.sweepId;
    const traffic = await countTraffic(cdp, sweepId);
    await page.goto(`${url}/sweeps/${sweepId}`);
    log(
      `sweep ${sweepId}: ${submitted.trials.length} trials submitted in ${fmt(performance.now() - t0, 0)} ms; page open`,
    );
    const deadline = Date.now() + Number(args['timeout-s']) * 1000;
    let lastReport = 0;
    let busyWaits = 0;
    for (;;) {
      const status = cp.store.getSweep(sweepId)!.status;
      // A page whose main thread is busy (parsing or drawing a large document) answers late: count those waits.
      const mode = await page
        .locator('#live')
        .getAttribute('data-mode', { timeout: 5_000 })
        .catch(() => ((busyWaits += 1), 'busy'));
      if (!['queued', 'running'].includes(status) && mode === 'finished') break;
      if (Date.now() > deadline) throw new Error(`timed out: sweep ${status}, page mode ${mode}`);
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now();
        log(`  ${status}, page '${mode}', ${mb(traffic.bytes().total)} received so far`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const liveSeconds = (performance.now() - t0) / 1000;
    await quiet(traffic);
    const live = {
      seconds: liveSeconds,
      busyWaits,
      bytes: traffic.bytes(),
      decoded: traffic.decoded(),
      requests: traffic.requests(),
      events: traffic.events(),
      heapBytes: await heapUsed(cdp),
      longTasks: await longTasksOf(page),
    };
    await context.close();

    // The yardstick: the final results table.
    const resultsBody = Buffer.from(await (await fetch(`${url}/api/v1/sweeps/${sweepId}/results`)).arrayBuffer());
    const csvBody = Buffer.from(
      await (await fetch(`${url}/api/v1/sweeps/${sweepId}/results?format=csv`)).arrayBuffer(),
    );
    const table = {
      json: resultsBody.length,
      jsonGzip: gzipSync(resultsBody, { level: 6 }).length,
      csv: csvBody.length,
      csvGzip: gzipSync(csvBody, { level: 6 }).length,
    };
    const plotted = cp.store
      .trialsOfSweep(sweepId)
      .filter((r) => r.method !== 'base' && r.result && (r.result.counts.total ?? 0) > 0).length;

    // 2. Open the finished sweep in a fresh context, `OPENS` times.
    const opens: {
      firstChartMs: number;
      hoverMs: number;
      bytes: Record<string, number>;
      decoded: Record<string, number>;
      requests: Record<string, number>;
      heapBytes: number;
      longTasks: { count: number; ms: number };
    }[] = [];
    for (let i = 0; i < OPENS; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
      const p = await ctx.newPage();
      await p.addInitScript(LONG_TASKS_SCRIPT);
      const c = await ctx.newCDPSession(p);
      const t = await countTraffic(c, sweepId);
      const profiling = args.profile !== undefined && i === 0;
      if (profiling) {
        await c.send('Profiler.enable');
        await c.send('Profiler.start');
      }
      await p.goto(`${url}/sweeps/${sweepId}`);
      const firstChartMs = (await p.evaluate(firstChartInPage(plotted))) as number;
      if (profiling) {
        const { profile } = await c.send('Profiler.stop');
        writeFileSync(args.profile!, JSON.stringify(profile));
        log(`  open 1: CPU profile of the page until its first chart written to ${args.profile}`);
      }
      // Where the time went: when the page's script could start, and when the table's columns had arrived.
      const milestones = (await p.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const columns = performance.getEntriesByType('resource').find((e) => e.name.includes('format=columns'));
        return { domContentLoaded: nav ? nav.domContentLoadedEventEnd : null, columnsArrived: columns ? columns.responseEnd : null };
      })()`)) as { domContentLoaded: number | null; columnsArrived: number | null };
      log(
        `  open ${i + 1}: DOMContentLoaded at ${fmt(milestones.domContentLoaded ?? Number.NaN, 0)} ms, table columns arrived at ${fmt(milestones.columnsArrived ?? Number.NaN, 0)} ms`,
      );
      await quiet(t);
      const hoverMs = await hoverLatency(p);
      opens.push({
        firstChartMs,
        hoverMs,
        bytes: t.bytes(),
        decoded: t.decoded(),
        requests: t.requests(),
        heapBytes: await heapUsed(c),
        longTasks: await longTasksOf(p),
      });
      log(
        `  open ${i + 1}: first chart ${fmt(firstChartMs, 0)} ms, hover card after ${fmt(hoverMs, 0)} ms, ${mb(t.bytes().total)} (${mb(t.decoded().total)} decoded), heap ${mb(opens.at(-1)!.heapBytes)}`,
      );
      await ctx.close();
    }

    const eventBytes = live.bytes.events ?? 0;
    const report = {
      trials: submitted.trials.length,
      plotted,
      workers: WORKERS,
      loadAverage: loadavg(),
      live: {
        ...live,
        documentsBytes: live.bytes.total - eventBytes,
        eventBytes,
        targetBytes: 2 * table.jsonGzip + eventBytes,
      },
      table,
      open: {
        firstChartMs: median(opens.map((o) => o.firstChartMs)),
        hoverMs: median(opens.map((o) => o.hoverMs)),
        bytes: median(opens.map((o) => o.bytes.total)),
        decodedBytes: median(opens.map((o) => o.decoded.total)),
        heapBytes: median(opens.map((o) => o.heapBytes)),
        longTaskMs: median(opens.map((o) => o.longTasks.ms)),
        runs: opens,
      },
    };
    log(
      `watching live: ${fmt(liveSeconds, 1)} s (the page did not answer within 5 s ${busyWaits} times); received ${mb(live.bytes.total)} in ${Object.values(live.requests).reduce((a, b) => a + b, 0)} requests`,
    );
    log(
      `  by kind: ${Object.entries(live.bytes)
        .map(([k, v]) => `${k} ${mb(v)}`)
        .join(', ')}`,
    );
    log(
      `  decoded: ${Object.entries(live.decoded)
        .map(([k, v]) => `${k} ${mb(v)}`)
        .join(', ')}`,
    );
    log(
      `  SSE: ${live.events.messages} messages, ${mb(live.events.dataBytes)} of data; ${JSON.stringify(live.events.byName)}`,
    );
    log(
      `  heap at the end ${mb(live.heapBytes)}; long tasks ${live.longTasks.count} (${fmt(live.longTasks.ms, 0)} ms)`,
    );
    log(
      `final results table: JSON ${mb(table.json)} (${mb(table.jsonGzip)} gzipped), CSV ${mb(table.csv)} (${mb(table.csvGzip)} gzipped)`,
    );
    log(
      `  live transfer / (2 × gzipped table + events) = ${fmt(live.bytes.total / report.live.targetBytes, 2)}; documents alone / gzipped table = ${fmt(report.live.documentsBytes / table.jsonGzip, 2)}`,
    );
    log(
      `open finished sweep (median of ${OPENS}): first chart ${fmt(report.open.firstChartMs, 0)} ms, hover card ${fmt(report.open.hoverMs, 0)} ms, ${mb(report.open.bytes)}, heap ${mb(report.open.heapBytes)}, long tasks ${fmt(report.open.longTaskMs, 0)} ms`,
    );
    if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2));
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
