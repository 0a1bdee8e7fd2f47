/**
 * What `bslora params <spec>` does (params-command.ts loads this module only when it runs): every trial's
 * trainable-parameter breakdown (local, intra, inter, transform, total, and its share of the LoRA baseline) without
 * training, through a worker's `CountParameters` (meta device: a 70B model's shapes cost nothing). Spawns a local
 * worker, or asks one named with `--worker host:port`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlaneError } from '../errors.js';
import { AdapterDoesNotFit, countLlamaAdapter, type CountedParams } from '../params/count-llama-adapters.js';
import type { ParameterCounts } from '../gen/bslora_api/worker/v1/worker_service.js';
import { expandSweep, loadSweepSpecFile, type Trial } from '../sweep-specs/index.js';
import { status } from '@grpc/grpc-js';
import { grpcStatusName, isGrpcServiceError } from '../worker-process/grpc-errors.js';
import { spawnWorker, type WorkerProcess } from '../worker-process/spawn-worker.js';
import { WorkerClient } from '../worker-process/worker-client.js';
import { pickLoraBaseline } from '../recorder/lora-baseline.js';
import { fmtInt, fmtPct, renderTable } from './render-table.js';
import type { CliIo } from './sweep-command.js';
import { FOOTPRINT_FIELDS, flatCounts, type FootprintKey } from '../recorder/serving-footprint.js';

export interface TrialParams {
  name: string;
  method: string;
  /** `head`: trained copies of modules_to_save (a classification head), included in `total`. */
  counts: { local: number; intra: number; inter: number; transform: number; head: number; total: number } | null;
  /** What the adapter costs to serve: file bytes, resident bytes factored and merged (bf16, fp32), per GiB. */
  footprint: Record<FootprintKey, number> | null;
  /** Total as a fraction of the largest LoRA baseline's total; null without a LoRA trial in the spec. */
  loraShare: number | null;
  /** Why the worker refused this trial (a kron share size that does not divide a module, say). */
  error: string | null;
}

export interface ParamsReport {
  spec: string;
  baseModel: string;
  /** Parameters of the base model. */
  baseTotal: number | null;
  loraBaseline: string | null;
  trials: TrialParams[];
}

/** Counts every trial of a plan on one worker; seeds of one configuration are counted once. */
export async function countSweepParameters(
  specName: string,
  plans: Trial[],
  client: WorkerClient,
): Promise<ParamsReport> {
  const byConfig = new Map<string, Promise<ParameterCounts>>();
  let baseTotal: number | null = null;
  const trials: TrialParams[] = [];
  for (const plan of plans) {
    const config = plan.name.replace(/-s\d+$/, '');
    if (!byConfig.has(config)) byConfig.set(config, client.countParameters(plan, { timeoutMs: 300_000 }));
    try {
      const c = await byConfig.get(config)!;
      baseTotal ??= Number(c.baseTotal) || null;
      trials.push({
        name: plan.name,
        method: plan.method?.$case ?? '',
        counts: {
          local: Number(c.local),
          intra: Number(c.intra),
          inter: Number(c.inter),
          transform: Number(c.transform),
          head: Number(c.head ?? 0),
          total: Number(c.total),
        },
        footprint: footprintOf(c),
        loraShare: null,
        error: null,
      });
    } catch (err) {
      if (!isGrpcServiceError(err)) throw err;
      // The worker went away; anything else is its answer about this trial (a shape it cannot adapt, say).
      if ([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED].includes(err.code)) {
        throw new ControlPlaneError(
          'CP_ERR_WORKER_UNREACHABLE',
          `worker at ${client.address} failed: ${grpcStatusName(err.code)} ${err.details}`,
          { cause: err },
        );
      }
      trials.push({
        name: plan.name,
        method: plan.method?.$case ?? '',
        counts: null,
        footprint: null,
        loraShare: null,
        error: `${grpcStatusName(err.code)}: ${err.details}`,
      });
    }
  }
  const lora = pickLoraBaseline(trials, (t) => t.counts?.total);
  for (const t of trials) if (lora && t.counts) t.loraShare = t.counts.total / lora.counts!.total;
  return { spec: specName, baseModel: plans[0]?.baseModel ?? '', baseTotal, loraBaseline: lora?.name ?? null, trials };
}

function footprintOf(c: ParameterCounts): Record<FootprintKey, number> | null {
  if (!c.footprint) return null;
  const flat = flatCounts(c);
  return Object.fromEntries(FOOTPRINT_FIELDS.map((f) => [f.key, flat[f.key]])) as Record<FootprintKey, number>;
}

const fmtPerGib = (v: number | undefined): string =>
  v === undefined ? '-' : v >= 100 ? String(Math.floor(v)) : v.toFixed(1);

export function paramsTable(r: ParamsReport): string {
  // A classification head (seq_cls) is trained by every method alike: shown only when there is one.
  const hasHead = r.trials.some((t) => (t.counts?.head ?? 0) > 0);
  const rows = r.trials.map((t) => [
    t.name,
    t.method,
    fmtInt(t.counts?.local),
    fmtInt(t.counts?.intra),
    fmtInt(t.counts?.inter),
    fmtInt(t.counts?.transform),
    ...(hasHead ? [fmtInt(t.counts?.head)] : []),
    fmtInt(t.counts?.total),
    fmtPct(t.loraShare),
    fmtInt(t.footprint?.adapterFileBytes),
    fmtInt(t.footprint?.residentBytesBf16),
    fmtInt(t.footprint?.mergedResidentBytesBf16),
    fmtPerGib(t.footprint?.adaptersPerGib),
  ]);
  const head = `${r.spec}: ${r.trials.length} trials on ${r.baseModel}${r.baseTotal ? ` (${fmtInt(r.baseTotal)} base parameters)` : ''}`;
  const table = renderTable(
    [
      'trial',
      'method',
      'local',
      'intra',
      'inter',
      'transform',
      ...(hasHead ? ['head'] : []),
      'total',
      'of LoRA',
      'file bytes',
      'bf16 bytes',
      'merged bf16',
      'per GiB',
    ],
    rows,
  );
  const foot =
    (r.loraBaseline
      ? `\n"of LoRA": share of ${r.loraBaseline}'s trainable parameters`
      : '\n(no LoRA baseline in the spec: add lora_ranks to compare)') +
    '\nserving: adapter file bytes; resident bytes in bf16, factored and merged into per-module LoRA; bf16 adapters per GiB';
  const errors = r.trials.filter((t) => t.error).map((t) => `  ${t.name}: ${t.error}`);
  return `${head}\n\n${table}\n${foot}${errors.length ? `\n\nrefused by the worker:\n${errors.join('\n')}` : ''}`;
}

export interface ParamsOptions {
  json?: boolean;
  worker?: string;
  /** Count through a spawned worker even when the shapes are known here. */
  spawnWorker?: boolean;
  device: string;
  timeout: string;
}

/**
 * The report computed from known shapes (count-llama-adapters.ts), or null when some trial needs a worker. Seeds of a
 * configuration are counted once, as with a worker; a refusal reads as the worker's would.
 */
export function countFromShapes(specName: string, plans: Trial[]): ParamsReport | null {
  const trials: TrialParams[] = [];
  let baseTotal: number | null = null;
  for (const plan of plans) {
    let counts: CountedParams | null;
    try {
      counts = countLlamaAdapter(plan);
    } catch (err) {
      if (!(err instanceof AdapterDoesNotFit)) throw err;
      trials.push({
        name: plan.name,
        method: plan.method?.$case ?? '',
        counts: null,
        footprint: null,
        loraShare: null,
        error: `INVALID_ARGUMENT: ${err.message}`,
      });
      continue;
    }
    if (!counts) return null;
    baseTotal ??= counts.baseTotal;
    const { baseTotal: _base, ...parts } = counts;
    trials.push({
      name: plan.name,
      method: plan.method?.$case ?? '',
      counts: parts,
      footprint: null,
      loraShare: null,
      error: null,
    });
  }
  const lora = pickLoraBaseline(trials, (t) => t.counts?.total);
  for (const t of trials) if (lora && t.counts) t.loraShare = t.counts.total / lora.counts!.total;
  return { spec: specName, baseModel: plans[0]?.baseModel ?? '', baseTotal, loraBaseline: lora?.name ?? null, trials };
}

export async function runParams(specPath: string, opts: ParamsOptions, io: CliIo): Promise<void> {
  const spec = await loadSweepSpecFile(specPath);
  const plans = expandSweep(spec);
  const fromShapes = opts.worker || opts.spawnWorker ? null : countFromShapes(spec.name, plans);
  if (fromShapes) return report(fromShapes, opts, io);
  let worker: WorkerProcess | undefined;
  let client: WorkerClient;
  let runDir: string | undefined;
  if (opts.worker) {
    client = new WorkerClient(opts.worker);
    try {
      await client.waitForServing(Math.max(0.1, Number(opts.timeout) || 10) * 1_000);
    } catch (err) {
      client.close();
      throw new ControlPlaneError(
        'CP_ERR_WORKER_UNREACHABLE',
        `no worker answers at ${opts.worker}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  } else {
    runDir = mkdtempSync(join(tmpdir(), 'bslora-params-'));
    worker = await spawnWorker({
      runDir,
      device: opts.device,
      onLog: (line) => (process.env.BSLORA_VERBOSE ? io.err.write(`worker: ${line}\n`) : undefined),
    });
    client = worker.client;
  }
  try {
    report(await countSweepParameters(spec.name, plans, client), opts, io);
  } finally {
    if (worker) await worker.stop();
    else client.close();
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  }
}

/** Prints the report; trials the worker (or the same check here) refuses make it a CP_ERR_SPEC_INVALID (exit 2). */
function report(r: ParamsReport, opts: ParamsOptions, io: CliIo): void {
  io.out.write(opts.json ? `${JSON.stringify(r)}\n` : `${paramsTable(r)}\n`);
  const refused = r.trials.filter((t) => t.error);
  if (refused.length) {
    throw new ControlPlaneError(
      'CP_ERR_SPEC_INVALID',
      `the worker refused ${refused.length} of ${r.trials.length} trials`,
      {
        issues: refused.map((t) => ({ path: `trial ${t.name}`, message: t.error! })),
      },
    );
  }
}
