/** What `bslora demo` does once its arguments are read (demo-command.ts loads this module only when it runs). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { paramsAccuracySvg, type ChartResults } from '../charts/params-accuracy-svg.js';
import { startLocalStack } from '../local-stack.js';
import { serverDataRoots } from '../data-roots.js';
import { localRefsOf } from '../sweep-specs/parse-sweep-spec.js';
import { loadSweepSpecFile } from '../sweep-specs/index.js';
import { ApiClient } from './api-client.js';
import type { CliConfig } from './config.js';
import type { DemoOptions } from './demo-command.js';
import { expectLines, sweepOutcomeError, type ExpectSummary } from './expect-view.js';
import type { CliIo } from './sweep-command.js';
import { resultTable } from './sweep-view.js';
import { waitForSweep } from './wait-for-sweep.js';

/** The demo's home: reused across runs (finished trials are reused by key), or a new one per run with --fresh. */
function demoHome(config: CliConfig, fresh: boolean): string {
  if (!fresh) return join(config.homeDir, 'demo');
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return join(config.homeDir, `demo-${stamp}-${process.pid}`);
}

export async function runDemo(config: CliConfig, io: CliIo, specPath: string, opts: DemoOptions): Promise<void> {
  const spec = await loadSweepSpecFile(specPath);
  const home = demoHome(config, opts.fresh ?? false);
  mkdirSync(home, { recursive: true });
  // With --json, stdout carries the JSON document alone; every other line goes to stderr.
  const info = opts.json ? io.err : io.out;
  const stack = await startLocalStack({
    homeDir: home,
    redisUrl: config.redisUrl,
    prefix: `bslora-demo-${process.pid}`,
    port: 0,
    // A private stack for the user who runs it: its workers may read exactly the files the spec names.
    dataRoots: [...serverDataRoots(home), ...localRefsOf(spec).map((r) => r.absPath)],
    // The demo's queues are its own: nothing of them stays in the user's Redis, whether it ends or is stopped.
    deleteKeysOnStop: true,
    log: (line) => (process.env.BSLORA_VERBOSE ? io.err.write(`${line}\n`) : undefined),
  });
  const stopOnSignal = () => void stack.stop().then(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const submitted = await stack.controlPlane.submit(spec);
    info.write(
      `sweep ${submitted.sweepId} (${spec.name}): ${submitted.trials.length} trials, ${submitted.reused.length} reused\n`,
    );
    const api = new ApiClient(stack.apiUrl!, stack.token);
    const done = await waitForSweep(api, submitted.sweepId, io.out, { quiet: opts.json });
    const results = await api.request<ChartResults>(
      'GET',
      `/api/v1/sweeps/${encodeURIComponent(submitted.sweepId)}/results`,
    );
    const chartPath = join(home, `${submitted.sweepId}-params-vs-accuracy.svg`);
    writeFileSync(
      chartPath,
      paramsAccuracySvg(results, { title: `${spec.name}: trainable parameters against mean accuracy` }),
    );
    const verdicts = expectLines((done as { summary?: unknown }).summary as ExpectSummary | null);
    if (opts.json) io.out.write(`${JSON.stringify({ ...done, chart: chartPath, home })}\n`);
    else io.out.write(`\n${resultTable(done)}\n${verdicts ? `\n${verdicts}\n` : ''}`);
    info.write(`\n${openingLines(home, chartPath, submitted.sweepId)}\n`);
    // Same rule as `sweep submit --wait`: failed trials or failed expect rules make the exit code non-zero.
    const outcome = sweepOutcomeError(done);
    if (outcome) throw outcome;
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await stack.controlPlane.queueCounts().catch(() => undefined);
    await stack.stop();
  }
}

/** Where the chart is, and the two commands that open the dashboard on this demo's results. */
function openingLines(home: string, chartPath: string, sweepId: string): string {
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r && !r.startsWith('..') ? r : p;
  };
  return [
    `chart: ${rel(chartPath)}`,
    `dashboard: BSLORA_HOME=${rel(home)} npx bslora up`,
    `           then open http://127.0.0.1:7433/sweeps/${sweepId}`,
  ].join('\n');
}
