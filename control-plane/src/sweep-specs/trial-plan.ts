/**
 * Planning trials: `enumerateTrials` expands a spec into every trial (the generated proto `Trial`, the one
 * definition of a trial) but its key; `expandSweep` (expand-sweep.ts) adds the keys. Settings the spec leaves out
 * are filled in from proto/trial-defaults.json, so a trial says exactly what trains.
 *
 * Order (deterministic): seeds outermost (so a first pass over every configuration finishes before repeats), then
 * `grid.method` in the order written; within `bslora`, blocks in order (the grid, or each `paired` block), then
 * share modes, share sizes, and rank triples (explicit `ranks` first, then the R × ρ × φ expansion); within `lora`
 * and `vera`, ranks in order; within `peft`, the `grid.peft` entries in order. Configurations that come out
 * identical are kept once, at their first position.
 *
 * A `peft` trial carries its entry's config as written (sorted JSON, the spec's target modules filled in) and no
 * PEFT version until a worker has validated it: `submitSweep` replaces both with what the worker's PEFT returns
 * (`PeftCanonical`), so the keys of submitted trials name the canonical config.
 */
import {
  BSLoraSettings,
  LoraSettings,
  PeftSettings,
  TrainingSettings,
  VeraSettings,
  type Trial,
} from '../gen/bslora_api/worker/v1/worker_service.js';
import type { RankTriple } from './rank-expansion.js';
import { expandRankGrid, type RankExpansionFailure } from './rank-expansion.js';
import type { SweepSpec } from './sweep-spec.js';
import { METHOD_VERSIONS, TRIAL_DEFAULTS } from './trial-defaults.js';
import { canonicalJson } from './trial-key.js';
import { taskTypeOf, type MethodName, type ShareModeName } from './trial-enums.js';
import { scalingMessage, trainingJson, type ScalingSetting } from './training-settings.js';

/** The fields of an object that are set (spreading `{k: undefined}` would hide a default). */
function setFields(obj: object | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj ?? {}).filter(([, v]) => v !== undefined));
}

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
  modes: ShareModeName[];
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
      modes: (asList(mode.value) as ShareModeName[] | undefined) ?? [TRIAL_DEFAULTS.grid.share_mode],
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

/** The seeds of a spec: `training.seed`, `training.seeds` or `grid.seeds`; default `grid.seeds` of the defaults. */
export function seedsOf(spec: SweepSpec): number[] {
  const seeds =
    spec.grid.seeds ??
    spec.training.seeds ??
    (spec.training.seed !== undefined ? [spec.training.seed] : TRIAL_DEFAULTS.grid.seeds);
  return [...new Set(seeds)];
}

/** A `grid.peft` entry as a worker's PEFT validated it: the canonical config JSON and PEFT's version. */
export interface PeftCanonical {
  configJson: string;
  peftVersion: string;
}

/** The config of a `grid.peft` entry as written, with the spec's target modules unless the entry names its own. */
export function writtenPeftConfigJson(spec: SweepSpec, entry: NonNullable<SweepSpec['grid']['peft']>[number]): string {
  return canonicalJson({ target_modules: [...spec.target_modules], ...entry.peft });
}

/**
 * Enumerates every trial of a spec with an empty key, in the documented order, duplicates dropped. `peft` holds the
 * validated config of each `grid.peft` entry by name; entries not in it keep their config as written.
 */
export function enumerateTrials(spec: SweepSpec, peft: ReadonlyMap<string, PeftCanonical> = new Map()): Trial[] {
  const methods = [...new Set(asList(spec.grid.method) ?? [])];
  // The spec's training keys are the proto's field names, so a new training setting needs no code here.
  const training = TrainingSettings.fromJSON(
    trainingJson({ ...TRIAL_DEFAULTS.training, ...setFields(spec.training) }),
  );
  // The scale rule and the kron dropout switch are written as the spec writes them; the messages take proto form.
  const {
    scaling,
    kron_shared_dropout: kronSharedDropout,
    ...adapter
  } = {
    ...TRIAL_DEFAULTS.adapter,
    kron_shared_dropout: TRIAL_DEFAULTS.bslora.kron_shared_dropout,
    ...setFields(spec.adapter),
  } as Record<string, unknown>;
  const scalingJson = { scaling: scalingMessage(scaling as ScalingSetting) };
  const common = {
    trialKey: '',
    baseModel: spec.base_model,
    taskType: taskTypeOf(spec.task_type ?? TRIAL_DEFAULTS.task_type),
    trainData: spec.train_data,
    evalTasks: [...spec.eval_tasks],
  };
  const blocks = methods.includes('bslora') ? bsloraBlocks(spec.grid) : [];

  const out: Trial[] = [];
  const seen = new Set<string>();
  const push = (trial: Trial): void => {
    if (seen.has(trial.name)) return;
    seen.add(trial.name);
    out.push(trial);
  };
  const trial = (name: string, method: NonNullable<Trial['method']>, seed: number): Trial => ({
    ...common,
    name,
    method,
    methodVersion: METHOD_VERSIONS[method.$case],
    targetModules: method.$case === 'base' ? [] : [...spec.target_modules],
    training: { ...training },
    seed,
  });

  for (const seed of seedsOf(spec)) {
    for (const method of methods as MethodName[]) {
      if (method === 'base') {
        push(trial(`base-s${seed}`, { $case: 'base', value: {} }, seed));
      } else if (method === 'lora') {
        for (const rank of asList(spec.grid.lora_ranks) ?? []) {
          const value = {
            ...LoraSettings.fromJSON({ lora_alpha: TRIAL_DEFAULTS.lora.lora_alpha_per_rank * rank, ...adapter, rank }),
            ...scalingJson,
          };
          push(trial(`lora-r${rank}-s${seed}`, { $case: 'lora', value }, seed));
        }
      } else if (method === 'peft') {
        for (const entry of spec.grid.peft ?? []) {
          const canonical = peft.get(entry.name) ?? {
            configJson: writtenPeftConfigJson(spec, entry),
            peftVersion: '',
          };
          const value = PeftSettings.fromPartial({ name: entry.name, ...canonical });
          push(trial(`peft-${entry.name}-s${seed}`, { $case: 'peft', value }, seed));
        }
      } else if (method === 'vera') {
        for (const rank of asList(spec.grid.vera_ranks) ?? [TRIAL_DEFAULTS.grid.vera_ranks]) {
          push(
            trial(
              `vera-r${rank}-s${seed}`,
              { $case: 'vera', value: VeraSettings.fromJSON({ ...adapter, rank }) },
              seed,
            ),
          );
        }
      } else {
        for (const block of blocks) {
          for (const mode of block.modes) {
            const sizes: (number | null)[] =
              mode === 'kron' ? (block.kronSizes ?? []) : mode === 'gate' ? (block.gateSizes ?? []) : [null];
            for (const size of sizes) {
              for (const r of block.ranks) {
                const { kron_shared_dropout: _k, ...bsloraDefaults } = TRIAL_DEFAULTS.bslora;
                const share =
                  mode === 'kron'
                    ? { share_size: size, shared_dropout: kronSharedDropout }
                    : size === null
                      ? {}
                      : { share_size: size };
                const value = {
                  ...BSLoraSettings.fromJSON({ ...bsloraDefaults, ...adapter, ranks: r, [mode]: share }),
                  ...scalingJson,
                };
                push(trial(`bslora-${mode}${size ?? ''}-${tripleId(r)}-s${seed}`, { $case: 'bslora', value }, seed));
              }
            }
          }
        }
      }
    }
  }
  return out;
}
