/**
 * Trial plans: what one trial of a sweep trains and evaluates. `enumerateTrialConfigs` expands a spec into every
 * trial but its key; `expandSweep` (expand-sweep.ts) adds the keys.
 *
 * Order (deterministic): seeds outermost (so a first pass over every configuration finishes before repeats), then
 * `grid.method` in the order written; within `bslora`, blocks in order (the grid, or each `paired` block), then
 * share modes, share sizes, and rank triples (explicit `ranks` first, then the R × ρ × φ expansion); within `lora`
 * and `vera`, ranks in order. Configurations that come out identical are kept once, at their first position.
 */
import type { RankTriple } from './rank-expansion.js';
import { expandRankGrid, type RankExpansionFailure } from './rank-expansion.js';
import type { Method, ShareMode, SweepSpec } from './sweep-spec.js';

/** One trial: one configuration trained once and evaluated on each eval task. */
export interface TrialPlan {
  /** sha256 hex of the canonical JSON of everything that determines the result (see trial-key.ts). */
  trialKey: string;
  /** Short human label, unique within a sweep: `bslora-slice-2/4/16-s0`, `bslora-kron256-2/4/16-s0`, `lora-r8-s0`. */
  name: string;
  method: Method;
  /** BSLoRA rank triple; `null` for other methods. */
  ranks: RankTriple | null;
  /** LoRA / VeRA rank; `null` for bslora and base. */
  rank: number | null;
  shareMode: ShareMode | null;
  /** Set only for kron trials. */
  kronShareSize: number | null;
  /** Set only for gate trials. */
  gateShareSize: number | null;
  /** lora and bslora only; `null`: the worker's default. */
  loraAlpha: number | null;
  /** 0 for base. */
  loraDropout: number;
  /** `builtin:<name>`, an absolute local path, or a hub id. */
  baseModel: string;
  taskType: 'causal_lm' | 'seq_cls';
  /** `builtin:<name>`, an absolute local path, or a hub id. */
  trainData: string;
  evalTasks: string[];
  /** Empty for base. */
  targetModules: string[];
  training: {
    /** Optimiser steps; 0 when `epochs` governs instead. */
    steps: number;
    /** Passes over the train data, or `null` when `steps` governs. */
    epochs: number | null;
    learningRate: number;
    batchSize: number;
    seqLen: number;
    warmupSteps: number;
    evalLimit: number | null;
    checkpointEvery: number | null;
  };
  seed: number;
  /** The version of the method's implementation; part of the trial key. */
  methodVersion: string;
}

/** A trial plan before its key is computed. */
export type TrialConfig = Omit<TrialPlan, 'trialKey'>;

/**
 * Method versions that enter trial keys. Bump one when a change to that method's implementation changes results,
 * so that old results are no longer reused. A spec may override them with `method_versions`.
 */
export const METHOD_VERSIONS: Readonly<Record<Method, string>> = {
  bslora: 'bslora-method/1',
  lora: 'peft-lora/1',
  vera: 'peft-vera/1',
  base: 'base-eval/1',
};

/** VeRA rank used when the spec names `vera` but no `vera_ranks` (PEFT's default). */
export const DEFAULT_VERA_RANK = 256;

type PathSegment = string | number;

/** A scalar-or-list axis as a list. */
export function asList<T>(value: T | T[] | undefined): T[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}

/** Path of element `index` of an axis that may be a scalar (no index) or a list. */
export function axisPath(base: PathSegment[], key: string, value: unknown, index: number): PathSegment[] {
  return Array.isArray(value) ? [...base, key, index] : [...base, key];
}

type BlockSource = SweepSpec['grid'] | NonNullable<SweepSpec['grid']['paired']>[number];

/** The BSLoRA settings of one block (the grid itself, or one `paired` block merged over the grid). */
export interface BsloraBlock {
  /** `['grid']` or `['grid', 'paired', i]`. */
  path: PathSegment[];
  modes: ShareMode[];
  /** Where `modes` came from. */
  modesPath: PathSegment[];
  kronSizes: number[] | undefined;
  kronPath: PathSegment[];
  gateSizes: number[] | undefined;
  gatePath: PathSegment[];
  /** The block whose rank keys apply (the grid, or the paired block when it sets any rank key). */
  rankSource: BlockSource;
  rankPath: PathSegment[];
  /** Explicit triples and feasible R × ρ × φ triples, duplicates dropped. */
  ranks: RankTriple[];
  /** Infeasible R × ρ × φ combinations. */
  rankFailures: RankExpansionFailure[];
}

const RANK_KEYS = ['ranks', 'total_rank', 'sharing_ratio', 'intra_fraction'] as const;

function hasRankKeys(source: BlockSource): boolean {
  return RANK_KEYS.some((k) => source[k] !== undefined);
}

function tripleId(r: RankTriple): string {
  return `${r.local}/${r.intra}/${r.inter}`;
}

/** The ranks a rank source expands to (explicit triples, then the R × ρ × φ grid when all three are given). */
function ranksOf(source: BlockSource, tolerance: number): { ranks: RankTriple[]; failures: RankExpansionFailure[] } {
  const ranks: RankTriple[] = [];
  const seen = new Set<string>();
  const add = (r: RankTriple): void => {
    if (r.local + r.intra + r.inter === 0 || seen.has(tripleId(r))) return;
    seen.add(tripleId(r));
    ranks.push(r);
  };
  for (const r of source.ranks ?? []) add(r);
  const totals = asList(source.total_rank);
  const ratios = asList(source.sharing_ratio);
  const fractions = asList(source.intra_fraction);
  let failures: RankExpansionFailure[] = [];
  if (totals && ratios && fractions) {
    const expansion = expandRankGrid(totals, ratios, fractions, tolerance);
    expansion.ranks.forEach(add);
    failures = expansion.failures;
  }
  return { ranks, failures };
}

/** The BSLoRA blocks of a spec's grid: the grid itself, or one per `paired` block. */
export function bsloraBlocks(grid: SweepSpec['grid']): BsloraBlock[] {
  const tolerance = grid.ratio_tolerance ?? 0;
  const sources: { source: BlockSource | null; path: PathSegment[] }[] = grid.paired
    ? grid.paired.map((block, i) => ({ source: block, path: ['grid', 'paired', i] }))
    : [{ source: null, path: ['grid'] }];
  return sources.map(({ source, path }) => {
    const pick = <K extends 'share_mode' | 'kron_share_size' | 'gate_share_size'>(key: K) =>
      source && source[key] !== undefined
        ? { value: source[key], path: [...path, key] }
        : { value: grid[key], path: ['grid', key] };
    const mode = pick('share_mode');
    const kron = pick('kron_share_size');
    const gate = pick('gate_share_size');
    const rankSource = source && hasRankKeys(source) ? source : grid;
    const rankPath = rankSource === grid ? ['grid'] : path;
    const { ranks, failures } = ranksOf(rankSource, tolerance);
    return {
      path,
      modes: (asList(mode.value) as ShareMode[] | undefined) ?? ['slice'],
      modesPath: mode.path,
      kronSizes: asList(kron.value) as number[] | undefined,
      kronPath: kron.path,
      gateSizes: asList(gate.value) as number[] | undefined,
      gatePath: gate.path,
      rankSource,
      rankPath,
      ranks,
      rankFailures: failures,
    };
  });
}

/** The seeds of a spec: `training.seed`, `training.seeds` or `grid.seeds`; default `[0]`. */
export function seedsOf(spec: SweepSpec): number[] {
  const seeds = spec.grid.seeds ?? spec.training.seeds ?? (spec.training.seed !== undefined ? [spec.training.seed] : [0]);
  return [...new Set(seeds)];
}

/** Enumerates every trial of a spec except its key, in the documented order, duplicates dropped. */
export function enumerateTrialConfigs(spec: SweepSpec): TrialConfig[] {
  const methods = [...new Set(asList(spec.grid.method) ?? [])];
  const versions = { ...METHOD_VERSIONS, ...spec.method_versions };
  const t = spec.training;
  const training: TrialConfig['training'] = {
    steps: t.steps ?? 0,
    epochs: t.epochs ?? null,
    learningRate: t.learning_rate,
    batchSize: t.batch_size,
    seqLen: t.seq_len,
    warmupSteps: t.warmup_steps ?? 0,
    evalLimit: t.eval_limit ?? null,
    checkpointEvery: t.checkpoint_every ?? null,
  };
  const common = {
    baseModel: spec.base_model,
    taskType: spec.task_type ?? 'causal_lm',
    trainData: spec.train_data,
    evalTasks: [...spec.eval_tasks],
  };
  const alpha = spec.adapter?.lora_alpha ?? null;
  const dropout = spec.adapter?.lora_dropout ?? 0.05;
  const blocks = methods.includes('bslora') ? bsloraBlocks(spec.grid) : [];

  const out: TrialConfig[] = [];
  const seen = new Set<string>();
  const push = (config: TrialConfig): void => {
    if (seen.has(config.name)) return;
    seen.add(config.name);
    out.push(config);
  };
  const adapterFields = (method: Method) => ({
    ...common,
    method,
    targetModules: [...spec.target_modules],
    training: { ...training },
    methodVersion: versions[method],
  });

  for (const seed of seedsOf(spec)) {
    for (const method of methods) {
      if (method === 'base') {
        push({
          ...common,
          name: `base-s${seed}`,
          method,
          ranks: null,
          rank: null,
          shareMode: null,
          kronShareSize: null,
          gateShareSize: null,
          loraAlpha: null,
          loraDropout: 0,
          targetModules: [],
          training: { ...training },
          seed,
          methodVersion: versions.base,
        });
      } else if (method === 'lora' || method === 'vera') {
        const ranks =
          method === 'lora' ? (asList(spec.grid.lora_ranks) ?? []) : (asList(spec.grid.vera_ranks) ?? [DEFAULT_VERA_RANK]);
        for (const rank of ranks) {
          push({
            ...adapterFields(method),
            name: `${method}-r${rank}-s${seed}`,
            ranks: null,
            rank,
            shareMode: null,
            kronShareSize: null,
            gateShareSize: null,
            loraAlpha: method === 'lora' ? alpha : null,
            loraDropout: dropout,
            seed,
          });
        }
      } else {
        for (const block of blocks) {
          for (const mode of block.modes) {
            const sizes: (number | null)[] =
              mode === 'kron' ? (block.kronSizes ?? []) : mode === 'gate' ? (block.gateSizes ?? []) : [null];
            for (const size of sizes) {
              for (const r of block.ranks) {
                push({
                  ...adapterFields('bslora'),
                  name: `bslora-${mode}${size ?? ''}-${tripleId(r)}-s${seed}`,
                  ranks: { ...r },
                  rank: null,
                  shareMode: mode,
                  kronShareSize: mode === 'kron' ? size : null,
                  gateShareSize: mode === 'gate' ? size : null,
                  loraAlpha: alpha,
                  loraDropout: dropout,
                  seed,
                });
              }
            }
          }
        }
      }
    }
  }
  return out;
}
