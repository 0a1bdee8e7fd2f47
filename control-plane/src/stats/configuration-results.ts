/**
 * Configuration-level results: a configuration is everything in a trial except its seed. For each configuration
 * and eval task, and for the mean over tasks: n, mean, standard deviation and the t interval over seeds; the paired
 * difference against a reference configuration (the largest LoRA by default) on the same eval items, with a
 * paired bootstrap interval over items and seeds; and the Pareto front over configuration means, marking the front
 * points whose advantage over the best cheaper configuration lies within the noise. docs/statistics.md explains
 * the definitions.
 */
import { createHash } from 'node:crypto';
import type { TaskItems } from '../store/item-correctness.js';
import type { TrialRow } from '../store/store.js';
import { canonicalJson } from '../sweep-specs/trial-key.js';
import { Trial, trialCoordinates, type TrialCoordinates } from '../sweep-specs/index.js';
import { unpackItemBits } from './item-bits.js';
import { pairedBootstrap, type PairedDifference } from './paired-bootstrap.js';
import { meanInterval, type MeanInterval } from './t-interval.js';
import { paretoFront } from '../recorder/summarize-sweep.js';

export const DEFAULT_CONFIDENCE = 0.95;

/** The difference of a configuration to another, overall (mean over tasks) and per task; null where not computable. */
export interface Comparison {
  /** The other configuration's name. */
  versus: string;
  mean: PairedDifference | null;
  tasks: Record<string, PairedDifference | null>;
  /** Why `mean` is null, when it is. */
  reason: string | null;
}

export interface ConfigurationRow {
  /** sha256 (hex, first 16 digits) of the canonical JSON of the trial plan without its key, name and seed. */
  configKey: string;
  /** The trials' name without the `-s<seed>` suffix. */
  name: string;
  method: string;
  rank: number | null;
  ranks: { local: number; intra: number; inter: number } | null;
  shareMode: string | null;
  kronShareSize: number | null;
  gateShareSize: number | null;
  /**
   * Sharing ratio ρ = (intra + inter) / (local + intra + inter) and intra fraction φ = intra / (intra + inter) (BSLoRA
   * only).
   */
  sharingRatio: number | null;
  intraFraction: number | null;
  trainable: number | null;
  /** Seeds with a result, ascending, and their trial keys in that order. */
  seeds: number[];
  trialKeys: string[];
  /** Seeds planned (with or without a result). */
  planned: number;
  /** Accuracy (0–1) per task over seeds, and the per-seed mean over tasks over seeds. */
  tasks: Record<string, MeanInterval>;
  mean: MeanInterval | null;
  /** Paired difference to the reference configuration (null for the reference itself and when there is none). */
  vsReference: Comparison | null;
  onFront: boolean;
  /** For a front point: its difference to the best cheaper configuration, and whether that lies within the noise. */
  frontNoise: { versus: string; diff: PairedDifference | null; withinNoise: boolean } | null;
}

export interface ConfigurationResults {
  confidence: number;
  /** The reference configuration's name (null when there is none). */
  reference: string | null;
  configurations: ConfigurationRow[];
}

export interface ConfigurationOptions {
  confidence?: number;
  /** Reference configuration by name or key; default: the LoRA configuration with the most trainable parameters. */
  reference?: string;
  replicates?: number;
}

/**
 * The configuration key of a plan: everything but the seed (and the key and name, which derive from it, and the
 * checkpoint interval, which does not change results).
 */
export function configurationKey(plan: Trial): string {
  const { trialKey: _k, name: _n, seed: _s, ...rest } = Trial.toJSON(plan) as Record<string, unknown>;
  const training = {
    ...(rest.training as Record<string, unknown> | undefined),
    checkpointEvery: undefined,
    stopAfterSteps: undefined,
  };
  return createHash('sha256')
    .update(canonicalJson({ ...rest, training }))
    .digest('hex')
    .slice(0, 16);
}

/** The trial name without its seed suffix. */
export const configurationName = (trialName: string): string => trialName.replace(/-s\d+$/, '');

interface Group {
  key: string;
  name: string;
  plan: Trial;
  /** The plan's grid coordinates (method, ranks, share mode and size). */
  coords: TrialCoordinates;
  planned: number;
  /** Completed trials with a result, by ascending seed. */
  done: TrialRow[];
}

function groupByConfiguration(rows: readonly TrialRow[]): Group[] {
  const groups = new Map<string, Group>();
  for (const r of rows) {
    const key = configurationKey(r.plan);
    let g = groups.get(key);
    if (!g)
      groups.set(
        key,
        (g = {
          key,
          name: configurationName(r.name),
          plan: r.plan,
          coords: trialCoordinates(r.plan),
          planned: 0,
          done: [],
        }),
      );
    g.planned++;
    if (r.result && r.result.metrics) g.done.push(r);
  }
  for (const g of groups.values()) g.done.sort((a, b) => a.plan.seed - b.plan.seed);
  // Sweeps compared together may hold different configurations under one name (another learning rate, say): those
  // names get their key's first digits.
  const byName = new Map<string, number>();
  for (const g of groups.values()) byName.set(g.name, (byName.get(g.name) ?? 0) + 1);
  for (const g of groups.values()) if (byName.get(g.name)! > 1) g.name = `${g.name}#${g.key.slice(0, 6)}`;
  return [...groups.values()];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Per task, the 0/1 vectors of a group's seeds; null for a task where a seed has no bits. */
function seedItems(
  g: Group,
  items: ReadonlyMap<string, ReadonlyMap<string, TaskItems>>,
  task: string,
): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  for (const t of g.done) {
    const it = items.get(t.trialKey)?.get(task);
    if (!it) return null;
    out.push(unpackItemBits(it.bits, it.n));
  }
  return out.length ? out : null;
}

/**
 * The paired difference `a − b` per task and over tasks (the tasks both were scored on). Null with a reason when
 * a task lacks per-item results or the two were scored on different items.
 */
/**
 * Complete comparisons already computed, by the two sides' trial keys and the options. A trial's results and item
 * bits never change once recorded, so neither does a complete comparison of the same trials; a bootstrap costs tens
 * of milliseconds, and the results view, the CSV, the webhook payload and comparisons all ask for the same ones.
 */
const memo = new Map<string, Comparison>();
const MEMO_ENTRIES = 20_000;

function compareGroups(
  a: Group,
  b: Group,
  items: ReadonlyMap<string, ReadonlyMap<string, TaskItems>>,
  opts: { confidence: number; replicates?: number },
): Comparison {
  const key = `${a.done.map((t) => t.trialKey).join(',')}|${b.done.map((t) => t.trialKey).join(',')}|${opts.confidence}|${opts.replicates ?? ''}`;
  const hit = memo.get(key);
  if (hit) {
    // Least recently used first out: a hit moves to the back.
    memo.delete(key);
    memo.set(key, hit);
    return { ...hit, versus: b.name };
  }
  const fresh = compareGroupsUncached(a, b, items, opts);
  // Only complete comparisons are kept: one that lacked item bits (a caller that passed none, or results recorded
  // before the bits existed) must be computed again when they are there.
  if (fresh.reason !== null) return fresh;
  memo.set(key, fresh);
  if (memo.size > MEMO_ENTRIES) memo.delete(memo.keys().next().value!);
  return fresh;
}

function compareGroupsUncached(
  a: Group,
  b: Group,
  items: ReadonlyMap<string, ReadonlyMap<string, TaskItems>>,
  opts: { confidence: number; replicates?: number },
): Comparison {
  const tasksA = Object.keys(a.done[0]?.result?.metrics ?? {});
  const tasksB = new Set(Object.keys(b.done[0]?.result?.metrics ?? {}));
  const common = tasksA.filter((t) => tasksB.has(t)).sort();
  const perTask: Record<string, PairedDifference | null> = {};
  const pairs: { candidate: Uint8Array[]; reference: Uint8Array[] }[] = [];
  let reason: string | null = common.length ? null : 'no eval task in common';
  for (const task of common) {
    const ca = seedItems(a, items, task);
    const cb = seedItems(b, items, task);
    if (!ca || !cb) {
      perTask[task] = null;
      reason ??= `no per-item results for ${task}`;
      continue;
    }
    const n = ca[0]!.length;
    if ([...ca, ...cb].some((v) => v.length !== n)) {
      perTask[task] = null;
      reason ??= `${task} was scored on different numbers of items`;
      continue;
    }
    perTask[task] = pairedBootstrap([{ candidate: ca, reference: cb }], opts);
    pairs.push({ candidate: ca, reference: cb });
  }
  // With one task the mean over tasks is that task's difference: the same draws, so the same interval.
  const whole = reason === null ? (pairs.length === 1 ? perTask[common[0]!]! : pairedBootstrap(pairs, opts)) : null;
  return { versus: b.name, mean: whole, tasks: perTask, reason };
}

/**
 * The paired difference of two configurations of `rows`, named as in {@link ConfigurationRow.name}; null when
 * either has no result.
 */
export function compareConfigurations(
  rows: readonly TrialRow[],
  items: ReadonlyMap<string, ReadonlyMap<string, TaskItems>>,
  candidate: string,
  reference: string,
  opts: { confidence: number; replicates?: number },
): Comparison | null {
  const groups = groupByConfiguration(rows);
  const a = groups.find((g) => g.name === candidate);
  const b = groups.find((g) => g.name === reference);
  return a?.done.length && b?.done.length ? compareGroups(a, b, items, opts) : null;
}

function ratios(c: TrialCoordinates): { sharingRatio: number | null; intraFraction: number | null } {
  const r = c.method === 'bslora' ? c.ranks : null;
  if (!r) return { sharingRatio: null, intraFraction: null };
  const total = r.local + r.intra + r.inter;
  const shared = r.intra + r.inter;
  return { sharingRatio: total ? shared / total : null, intraFraction: shared ? r.intra / shared : null };
}

/** Configuration-level results of a set of trials (one sweep, or several compared). */
export function configurationResults(
  rows: readonly TrialRow[],
  items: ReadonlyMap<string, ReadonlyMap<string, TaskItems>>,
  options: ConfigurationOptions = {},
): ConfigurationResults {
  const confidence = options.confidence ?? DEFAULT_CONFIDENCE;
  const boot = { confidence, replicates: options.replicates };
  const groups = groupByConfiguration(rows);
  const params = (g: Group) => (g.done.length ? mean(g.done.map((t) => t.result!.counts.total ?? 0)) : null);
  const accMean = (g: Group) => (g.done.length ? mean(g.done.map((t) => t.result!.meanAcc ?? 0)) : null);

  const reference = options.reference
    ? (groups.find((g) => g.name === options.reference || g.key === options.reference) ?? null)
    : (groups
        .filter((g) => g.coords.method === 'lora' && g.done.length)
        .sort((x, y) => (params(y) ?? 0) - (params(x) ?? 0))[0] ?? null);

  const candidates = groups.filter((g) => g.coords.method !== 'base' && g.done.length);
  const front = paretoFront(candidates.map((g) => ({ key: g.key, params: params(g)!, acc: accMean(g)! })));

  const configurations = groups.map((g): ConfigurationRow => {
    const taskNames = [...new Set(g.done.flatMap((t) => Object.keys(t.result!.metrics!)))].sort();
    const tasks: Record<string, MeanInterval> = {};
    for (const task of taskNames) {
      const accs = g.done.map((t) => t.result!.metrics![task]?.acc).filter((v): v is number => typeof v === 'number');
      const mi = meanInterval(accs, confidence);
      if (mi) tasks[task] = mi;
    }
    const onFront = front.has(g.key);
    let frontNoise: ConfigurationRow['frontNoise'] = null;
    if (onFront) {
      const p = params(g)!;
      const cheaper = candidates.filter((c) => params(c)! < p).sort((x, y) => accMean(y)! - accMean(x)!)[0];
      if (cheaper) {
        const diff = compareGroups(g, cheaper, items, boot).mean;
        const a = meanInterval(
          g.done.map((t) => t.result!.meanAcc ?? 0),
          confidence,
        );
        const b = meanInterval(
          cheaper.done.map((t) => t.result!.meanAcc ?? 0),
          confidence,
        );
        // Without per-item results, fall back to whether the two seed intervals overlap (unknown spread: noise).
        const withinNoise = diff ? diff.lo <= 0 : a?.lo == null || b?.hi == null || a.lo <= b.hi;
        frontNoise = { versus: cheaper.name, diff, withinNoise };
      }
    }
    return {
      configKey: g.key,
      name: g.name,
      method: g.coords.method,
      rank: g.coords.rank,
      ranks: g.coords.ranks,
      shareMode: g.coords.shareMode,
      kronShareSize: g.coords.shareMode === 'kron' ? g.coords.shareSize : null,
      gateShareSize: g.coords.shareMode === 'gate' ? g.coords.shareSize : null,
      ...ratios(g.coords),
      trainable: params(g),
      seeds: g.done.map((t) => t.plan.seed),
      trialKeys: g.done.map((t) => t.trialKey),
      planned: g.planned,
      tasks,
      mean: meanInterval(
        g.done.map((t) => t.result!.meanAcc ?? 0),
        confidence,
      ),
      vsReference:
        reference && reference !== g && reference.done.length && g.done.length
          ? compareGroups(g, reference, items, boot)
          : null,
      onFront,
      frontNoise,
    };
  });
  return { confidence, reference: reference?.name ?? null, configurations };
}

/** `mean ± half-width (n)` in percent points, e.g. `81.2 ± 4.4 (3)`; one seed shows no interval. */
export function formatInterval(m: MeanInterval | null): string {
  if (!m) return '-';
  const pct = (x: number) => (x * 100).toFixed(1);
  return m.halfWidth === null ? `${pct(m.mean)} (${m.n})` : `${pct(m.mean)} ± ${pct(m.halfWidth)} (${m.n})`;
}

/** A paired difference in points with its interval, e.g. `+1.5 [-0.8, +3.9]`. */
export function formatDifference(d: PairedDifference | null): string {
  if (!d) return '-';
  const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;
  return `${pts(d.mean)} [${pts(d.lo)}, ${pts(d.hi)}]`;
}
