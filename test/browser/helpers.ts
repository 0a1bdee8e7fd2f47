/**
 * Helpers for the dashboard's browser tests: Debian's Chromium driven by playwright-core, an API server with the
 * dashboard routes on a free port, and sweeps written straight into the store (for shapes a real run would take
 * minutes to produce, and for hostile strings the spec schema would refuse).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildApp } from '../../control-plane/src/api/app.js';
import type { ControlPlane } from '../../control-plane/src/control-plane.js';
import { registerDashboardRoutes } from '../../control-plane/src/dashboard/routes.js';
import { summarizeSweep } from '../../control-plane/src/recorder/summarize-sweep.js';
import { Trial, type MethodName, type ShareModeName } from '../../control-plane/src/sweep-specs/index.js';

export const CHROMIUM = process.env.BSLORA_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
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
}

/** The REST API with the dashboard on 127.0.0.1 and a free port (registering twice is harmless). */
export async function startDashboardServer(
  controlPlane: ControlPlane,
  token: string,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildApp({ controlPlane, token });
  registerDashboardRoutes(app, { controlPlane });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/**
 * Collects page errors and console errors. Errors of the event stream count too: a page whose live updates fail
 * must not pass on the polling fallback.
 */
export function watchErrors(page: Page, allow: RegExp[] = []): () => string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const url = msg.location()?.url ?? '';
    if (allow.some((re) => re.test(text))) return;
    errors.push(`console: ${text} (${url})`);
  });
  return () => errors;
}

/** Runs in the page before its scripts: records every live mode the page shows and the mode at each fetch. */
function recordLiveTransportInPage(): void {
  const w = window as unknown as { __liveModes: string[]; __fetchModes: { url: string; mode: string }[] };
  w.__liveModes = [];
  w.__fetchModes = [];
  new MutationObserver((records) => {
    for (const r of records)
      if (r.target instanceof HTMLElement && r.target.id === 'live') w.__liveModes.push(r.target.dataset.mode ?? '');
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-mode'] });
  const realFetch = window.fetch.bind(window);
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    w.__fetchModes.push({ url, mode: document.getElementById('live')?.dataset.mode ?? '' });
    return realFetch(input, init);
  };
}

/**
 * Watches how a sweep page gets its live updates. `expectSseOnly` fails when the page ever fell back to polling
 * (or went offline), made a fetch while polling, or did not hold one event stream of this sweep open (200,
 * text/event-stream) for its whole life.
 */
export async function watchLiveTransport(
  page: Page,
  sweepId: string,
): Promise<{ expectSseOnly(page: Page): Promise<void> }> {
  const streams: { status: number; type: string }[] = [];
  const eventsPath = `/api/v1/sweeps/${encodeURIComponent(sweepId)}/events`;
  page.on('response', (res) => {
    if (new URL(res.url()).pathname === eventsPath)
      streams.push({ status: res.status(), type: res.headers()['content-type'] ?? '' });
  });
  // Awaited: a page opened before the script is registered records nothing (window.__liveModes undefined).
  await page.addInitScript(recordLiveTransportInPage);
  return {
    async expectSseOnly(p: Page) {
      const { modes, fetches } = await p.evaluate(() => {
        const w = window as unknown as { __liveModes: string[]; __fetchModes: { url: string; mode: string }[] };
        return { modes: w.__liveModes, fetches: w.__fetchModes };
      });
      expect(modes, 'live modes the page showed').toContain('sse');
      expect(
        modes.filter((m) => m === 'polling' || m === 'offline'),
        `live modes: ${modes.join(' → ')}`,
      ).toEqual([]);
      expect(fetches.filter((f) => f.mode === 'polling' || f.mode === 'offline')).toEqual([]);
      expect(streams).toHaveLength(1);
      expect(streams[0].status).toBe(200);
      expect(streams[0].type).toMatch(/^text\/event-stream/);
    },
  };
}

export interface FakeTrial {
  name: string;
  method: MethodName;
  ranks?: { local: number; intra: number; inter: number };
  rank?: number;
  shareMode?: ShareModeName;
  kronShareSize?: number;
  gateShareSize?: number;
  seed?: number;
  /** Trainable parameters; 0 for base. */
  total: number;
  /** Accuracy per task (a fraction); the mean is what the chart plots. */
  acc: number[];
  /** Leave without a result (queued), or mark failed. */
  status?: 'completed' | 'queued' | 'failed';
}

export interface FakeSweep {
  id: string;
  name: string;
  description?: string;
  /** The spec's `expect` rules, as written. */
  expect?: Record<string, unknown>[];
  tasks: string[];
  trials: FakeTrial[];
}

export function fakePlan(t: FakeTrial, tasks: string[]): Trial {
  const dropout = { loraDropout: 0.05 };
  const mode = t.shareMode ?? 'slice';
  const method =
    t.method === 'bslora'
      ? {
          bslora: {
            ranks: t.ranks,
            [mode]: mode === 'slice' ? {} : { shareSize: mode === 'kron' ? t.kronShareSize : t.gateShareSize },
            loraAlpha: 16,
            ...dropout,
          },
        }
      : t.method === 'lora'
        ? { lora: { rank: t.rank, loraAlpha: 16, ...dropout } }
        : t.method === 'vera'
          ? { vera: { rank: t.rank, ...dropout } }
          : { base: {} };
  return Trial.fromJSON({
    trialKey: randomBytes(32).toString('hex'),
    name: t.name,
    ...method,
    baseModel: 'builtin:tiny-llama',
    taskType: 'TASK_TYPE_CAUSAL_LM',
    trainData: 'builtin:arith',
    evalTasks: tasks,
    targetModules: t.method === 'base' ? [] : ['q_proj', 'v_proj'],
    training: { steps: 30, learningRate: 0.003, batchSize: 8, seqLen: 64, warmupSteps: 0, evalLimit: 200 },
    seed: t.seed ?? 0,
    methodVersion: `${t.method}/1`,
  });
}

/** A serving footprint as the worker records it (flat in counts): bf16 = 2 bytes a parameter; BSLoRA merged into
 * per-module LoRA holds 3× its factored size here, LoRA the same. */
export function fakeFootprint(t: FakeTrial): Record<string, number> {
  const merged = t.method === 'bslora' ? 3 : 1;
  return {
    adapterFileBytes: 4 * t.total + 4096,
    residentBytesBf16: 2 * t.total,
    residentBytesFp32: 4 * t.total,
    mergedResidentBytesBf16: 2 * merged * t.total,
    mergedResidentBytesFp32: 4 * merged * t.total,
    adaptersPerGib: 2 ** 30 / (2 * t.total),
  };
}

function counts(t: FakeTrial): Record<string, number> {
  return { ...partCounts(t), ...fakeFootprint(t) };
}

function partCounts(t: FakeTrial): Record<string, number> {
  if (t.method !== 'bslora' || !t.ranks) return { local: t.total, intra: 0, inter: 0, transform: 0, total: t.total };
  const sum = t.ranks.local + t.ranks.intra + t.ranks.inter;
  const local = Math.round((t.total * t.ranks.local) / sum);
  const intra = Math.round((t.total * t.ranks.intra) / sum);
  const transform = t.shareMode === 'slice' ? 0 : Math.round(t.total * 0.02);
  return { local, intra, inter: t.total - local - intra - transform, transform, total: t.total };
}

/** Records one trial's result as the result recorder would. */
export function recordFakeResult(cp: ControlPlane, sweepId: string, plan: Trial, t: FakeTrial, tasks: string[]): void {
  cp.store.recordResult(plan.trialKey, {
    counts: counts(t),
    initialLoss: 2.5,
    finalLoss: 1 + (1 - t.acc[0]) * 1.2,
    train: {},
    metrics: Object.fromEntries(
      tasks.map((task, i) => [task, { acc: t.acc[i], accNorm: Math.min(1, t.acc[i] + 0.01), n: 200 }]),
    ),
    adapterSha256: null,
  });
  cp.live.emit('event', { sweepId, kind: 'trial-finished', payload: { trialKey: plan.trialKey } });
}

/** Writes a sweep with its trials into the store; trials whose status is 'completed' (the default) get results. */
export function seedSweep(cp: ControlPlane, sweep: FakeSweep, opts: { finish?: boolean } = {}): Trial[] {
  const plans = sweep.trials.map((t) => fakePlan(t, sweep.tasks));
  cp.store.createSweep(
    {
      id: sweep.id,
      name: sweep.name,
      spec: { name: sweep.name, description: sweep.description, expect: sweep.expect },
    },
    plans,
    new Set(),
  );
  sweep.trials.forEach((t, i) => {
    const status = t.status ?? 'completed';
    if (status === 'completed') recordFakeResult(cp, sweep.id, plans[i], t, sweep.tasks);
    else if (status === 'failed') cp.store.setTrialStatus(plans[i].trialKey, 'failed', 'CUDA out of memory (fake)');
  });
  if (opts.finish ?? true) finishFakeSweep(cp, sweep.id);
  return plans;
}

export function finishFakeSweep(cp: ControlPlane, sweepId: string): void {
  const rows = cp.store.trialsOfSweep(sweepId);
  const status = rows.every((r) => r.status === 'completed') ? 'completed' : 'completed_with_failures';
  cp.store.setSweepStatus(sweepId, status, summarizeSweep(rows));
  cp.live.emit('event', { sweepId, kind: 'sweep-finished', payload: { status } });
}

export function uniqueSweepId(label: string): string {
  return `sw-test-${label}-${randomBytes(4).toString('hex')}`;
}

/** Two eval tasks, one of them a local file with a prompt style (as the commonsense specs have). */
export const FAKE_TASKS = ['builtin:arith', '/data/commonsense/boolq/test.json#llm-adapters'];

/** One of each method and transformation, with a front that runs from VeRA through BSLoRA to LoRA r16. */
export function manyMethodsSweep(id: string): FakeSweep {
  return {
    id,
    name: 'all-methods',
    description: 'Every method and share mode on two tasks (synthetic results).',
    tasks: FAKE_TASKS,
    expect: [
      {
        name: 'BSLoRA within 2 points of LoRA r16 at half its size',
        best: 'bslora',
        metric: 'mean_acc',
        at_least: 'lora:r16 - 2',
        max_param_share: 0.5,
      },
      { name: 'VeRA matches LoRA r16', best: 'vera', metric: 'mean_acc', at_least: 'lora:r16' },
    ],
    trials: [
      { name: 'lora-r4-s0', method: 'lora', rank: 4, total: 40_960, acc: [0.52, 0.6] },
      { name: 'lora-r8-s0', method: 'lora', rank: 8, total: 81_920, acc: [0.58, 0.64] },
      { name: 'lora-r16-s0', method: 'lora', rank: 16, total: 163_840, acc: [0.61, 0.67] },
      {
        name: 'bslora-slice-2/2/4-s0',
        method: 'bslora',
        shareMode: 'slice',
        ranks: { local: 2, intra: 2, inter: 4 },
        total: 24_576,
        acc: [0.55, 0.61],
      },
      {
        name: 'bslora-slice-4/4/8-s0',
        method: 'bslora',
        shareMode: 'slice',
        ranks: { local: 4, intra: 4, inter: 8 },
        total: 49_152,
        acc: [0.6, 0.65],
      },
      {
        name: 'bslora-gate64-2/4/8-s0',
        method: 'bslora',
        shareMode: 'gate',
        gateShareSize: 64,
        ranks: { local: 2, intra: 4, inter: 8 },
        total: 30_720,
        acc: [0.54, 0.6],
      },
      {
        name: 'bslora-kron16-2/2/4-s0',
        method: 'bslora',
        shareMode: 'kron',
        kronShareSize: 16,
        ranks: { local: 2, intra: 2, inter: 4 },
        total: 18_432,
        acc: [0.53, 0.6],
      },
      { name: 'vera-r256-s0', method: 'vera', rank: 256, total: 6_144, acc: [0.45, 0.55] },
      { name: 'base-s0', method: 'base', total: 0, acc: [0.3, 0.5] },
      {
        name: 'bslora-kron16-4/4/8-s0',
        method: 'bslora',
        shareMode: 'kron',
        kronShareSize: 16,
        ranks: { local: 4, intra: 4, inter: 8 },
        total: 36_864,
        acc: [0, 0],
        status: 'failed',
      },
    ],
  };
}
