/**
 * Helpers for the dashboard's browser tests: Debian's Chromium driven by playwright-core, an API server with the
 * dashboard routes on a free port, and sweeps written straight into the store (for shapes a real run would take
 * minutes to produce, and for hostile strings the spec schema would refuse).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { buildApp } from '../../control-plane/src/api/app.js';
import type { ControlPlane } from '../../control-plane/src/control-plane.js';
import { registerDashboardRoutes } from '../../control-plane/src/dashboard/routes.js';
import { summarizeSweep } from '../../control-plane/src/recorder/summarize-sweep.js';
import { Trial, type MethodName } from '../../control-plane/src/sweep-specs/index.js';

export const CHROMIUM = process.env.BSLORA_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The REST API with the dashboard on 127.0.0.1 and a free port (registering twice is harmless). */
export async function startDashboardServer(controlPlane: ControlPlane, token: string): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildApp({ controlPlane, token });
  registerDashboardRoutes(app, { controlPlane });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

/**
 * Collects page errors and console errors. A missing SSE endpoint (the page then polls) shows up as a console error
 * about the event stream or a 404, which is expected and left out.
 */
export function watchErrors(page: Page, allow: RegExp[] = []): () => string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const url = msg.location()?.url ?? '';
    if (/EventSource|text\/event-stream/.test(text) || (/status of 404/.test(text) && /\/events$/.test(url))) return;
    if (allow.some((re) => re.test(text))) return;
    errors.push(`console: ${text} (${url})`);
  });
  return () => errors;
}

export interface FakeTrial {
  name: string;
  method: MethodName;
  ranks?: { local: number; intra: number; inter: number };
  rank?: number;
  shareMode?: 'slice' | 'gate' | 'kron';
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
      ? { bslora: { ranks: t.ranks, [mode]: mode === 'slice' ? {} : { shareSize: mode === 'kron' ? t.kronShareSize : t.gateShareSize }, loraAlpha: 16, ...dropout } }
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

function counts(t: FakeTrial): Record<string, number> {
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
    metrics: Object.fromEntries(tasks.map((task, i) => [task, { acc: t.acc[i], accNorm: Math.min(1, t.acc[i] + 0.01), n: 200 }])),
    adapterSha256: null,
  });
  cp.live.emit('event', { sweepId, kind: 'trial-finished', payload: { trialKey: plan.trialKey } });
}

/** Writes a sweep with its trials into the store; trials whose status is 'completed' (the default) get results. */
export function seedSweep(cp: ControlPlane, sweep: FakeSweep, opts: { finish?: boolean } = {}): Trial[] {
  const plans = sweep.trials.map((t) => fakePlan(t, sweep.tasks));
  cp.store.createSweep({ id: sweep.id, name: sweep.name, spec: { name: sweep.name, description: sweep.description, expect: sweep.expect } }, plans, new Set());
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
      { name: 'BSLoRA within 2 points of LoRA r16 at half its size', best: 'bslora', metric: 'mean_acc', at_least: 'lora:r16 - 2', max_param_share: 0.5 },
      { name: 'VeRA matches LoRA r16', best: 'vera', metric: 'mean_acc', at_least: 'lora:r16' },
    ],
    trials: [
      { name: 'lora-r4-s0', method: 'lora', rank: 4, total: 40_960, acc: [0.52, 0.6] },
      { name: 'lora-r8-s0', method: 'lora', rank: 8, total: 81_920, acc: [0.58, 0.64] },
      { name: 'lora-r16-s0', method: 'lora', rank: 16, total: 163_840, acc: [0.61, 0.67] },
      { name: 'bslora-slice-2/2/4-s0', method: 'bslora', shareMode: 'slice', ranks: { local: 2, intra: 2, inter: 4 }, total: 24_576, acc: [0.55, 0.61] },
      { name: 'bslora-slice-4/4/8-s0', method: 'bslora', shareMode: 'slice', ranks: { local: 4, intra: 4, inter: 8 }, total: 49_152, acc: [0.6, 0.65] },
      { name: 'bslora-gate64-2/4/8-s0', method: 'bslora', shareMode: 'gate', gateShareSize: 64, ranks: { local: 2, intra: 4, inter: 8 }, total: 30_720, acc: [0.54, 0.6] },
      { name: 'bslora-kron16-2/2/4-s0', method: 'bslora', shareMode: 'kron', kronShareSize: 16, ranks: { local: 2, intra: 2, inter: 4 }, total: 18_432, acc: [0.53, 0.6] },
      { name: 'vera-r256-s0', method: 'vera', rank: 256, total: 6_144, acc: [0.45, 0.55] },
      { name: 'base-s0', method: 'base', total: 0, acc: [0.3, 0.5] },
      { name: 'bslora-kron16-4/4/8-s0', method: 'bslora', shareMode: 'kron', kronShareSize: 16, ranks: { local: 4, intra: 4, inter: 8 }, total: 36_864, acc: [0, 0], status: 'failed' },
    ],
  };
}
