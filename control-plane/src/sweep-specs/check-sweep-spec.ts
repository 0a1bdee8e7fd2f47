/**
 * The cross-field rules of a sweep spec, run once its structure is valid. Each problem is reported with the path
 * of the field to change.
 */
import { matchesSelector, parseExpectTarget, parseTrialSelector, type TrialSelector } from './expect-rules.js';
import { trialCountUpperBound } from './count-trials.js';
import { maxSweepTrials } from './spec-limits.js';
import type { SweepSpec } from './sweep-spec.js';
import { trialCoordinates } from './trial-coordinates.js';
import { asList, axisPath, bsloraBlocks, enumerateTrials } from './trial-plan.js';
import { rankDoesNotFit, rankLimit } from '../params/rank-fit.js';
import { planSearch, searchSpecIssues } from '../search/search-plan.js';

/** A cross-field problem; `path` as zod paths are (segments). */
export interface SpecCheckIssue {
  path: (string | number)[];
  message: string;
}

const BSLORA_ONLY_KEYS = [
  'share_mode',
  'kron_share_size',
  'gate_share_size',
  'ranks',
  'total_rank',
  'sharing_ratio',
  'intra_fraction',
  'paired',
] as const;

function duplicates<T>(values: readonly T[]): number[] {
  const seen = new Set<T>();
  const dup: number[] = [];
  values.forEach((v, i) => {
    if (seen.has(v)) dup.push(i);
    seen.add(v);
  });
  return dup;
}

function describeSelector(s: TrialSelector): string {
  return [
    s.method,
    s.peftName ?? '',
    s.rank !== null ? `rank ${s.rank}` : '',
    s.shareMode ?? '',
    s.ranks ? `${s.ranks.local}/${s.ranks.intra}/${s.ranks.inter}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function getIn(root: unknown, path: readonly (string | number)[]): unknown {
  let node: unknown = root;
  for (const seg of path)
    node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[seg] : undefined;
  return node;
}

function dedupe(issues: SpecCheckIssue[]): SpecCheckIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const id = JSON.stringify(i);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/** Where a rank that does not fit was given: the list entry when it is one, else the field it was computed from. */
function rankPath(spec: SweepSpec, method: string, rank: number): (string | number)[] {
  const grid = spec.grid;
  if (method === 'lora') {
    const i = (asList(grid.lora_ranks) ?? []).indexOf(rank);
    return axisPath(['grid'], 'lora_ranks', grid.lora_ranks, Math.max(i, 0));
  }
  const i = (grid.ranks ?? []).findIndex((r) => r.local === rank);
  if (i >= 0) return ['grid', 'ranks', i, 'local'];
  return grid.total_rank !== undefined ? ['grid', 'total_rank'] : grid.paired ? ['grid', 'paired'] : ['grid'];
}

/** Checks every rule that ties fields of a structurally valid spec together. */
export function checkSweepSpec(spec: SweepSpec): SpecCheckIssue[] {
  const issues: SpecCheckIssue[] = [];
  const add = (path: (string | number)[], message: string): void => {
    issues.push({ path, message });
  };
  const grid = spec.grid;
  const methods = asList(grid.method) ?? [];

  // Count before expanding anything: a grid of thousands × thousands is refused without being built.
  const bound = trialCountUpperBound(spec);
  if (bound > maxSweepTrials()) {
    add(
      ['grid'],
      `expands to up to ${bound} trials, more than this server's limit of ${maxSweepTrials()} (BSLORA_MAX_SWEEP_TRIALS); split the sweep or remove axis values`,
    );
    return issues;
  }

  for (const i of duplicates(methods))
    add(axisPath(['grid'], 'method', grid.method, i), `duplicate method "${methods[i]}"`);
  for (const i of duplicates(spec.target_modules))
    add(['target_modules', i], `duplicate module "${spec.target_modules[i]}"`);
  for (const i of duplicates(spec.eval_tasks)) add(['eval_tasks', i], `duplicate eval task "${spec.eval_tasks[i]}"`);

  // Seeds: one place only.
  const seedPlaces = [
    spec.training.seed !== undefined ? ['training', 'seed'] : null,
    spec.training.seeds !== undefined ? ['training', 'seeds'] : null,
    grid.seeds !== undefined ? ['grid', 'seeds'] : null,
  ].filter((p): p is string[] => p !== null);
  for (const p of seedPlaces.slice(1))
    add(p, `seeds are already given at ${seedPlaces[0]!.join('.')}; give them in one place`);
  for (const [list, path] of [
    [spec.training.seeds, ['training', 'seeds']],
    [grid.seeds, ['grid', 'seeds']],
  ] as const) {
    for (const i of duplicates(list ?? [])) add([...path, i], `duplicate seed ${list![i]}`);
  }

  // BSLoRA axes.
  if (!methods.includes('bslora')) {
    for (const key of BSLORA_ONLY_KEYS) {
      if (grid[key] !== undefined)
        add(['grid', key], 'applies only to method bslora, which grid.method does not include');
    }
  } else {
    const blocks = bsloraBlocks(grid);
    const kronUsedFromGrid = { used: false };
    const gateUsedFromGrid = { used: false };
    let modeFromGrid = false;
    let ranksFromGrid = false;
    for (const block of blocks) {
      if (block.modesPath[0] === 'grid' && block.modesPath.length === 2) modeFromGrid = true;
      if (block.rankSource === grid) ranksFromGrid = true;
      for (const i of duplicates(block.modes)) {
        add(
          Array.isArray(getIn(spec, block.modesPath)) ? [...block.modesPath, i] : block.modesPath,
          `duplicate share mode "${block.modes[i]}"`,
        );
      }
      if (block.modes.includes('kron')) {
        if (block.kronSizes === undefined)
          add([...block.path, 'kron_share_size'], 'required when share_mode includes kron');
        else if (block.kronPath.length === 2) kronUsedFromGrid.used = true;
      } else if (block.kronPath.length > 2 && block.kronSizes !== undefined) {
        add(block.kronPath, 'has no effect: this block has no share_mode kron');
      }
      if (block.modes.includes('gate')) {
        if (block.gateSizes === undefined)
          add([...block.path, 'gate_share_size'], 'required when share_mode includes gate');
        else if (block.gatePath.length === 2) gateUsedFromGrid.used = true;
      } else if (block.gatePath.length > 2 && block.gateSizes !== undefined) {
        add(block.gatePath, 'has no effect: this block has no share_mode gate');
      }

      // Ranks: explicit triples, or R with ρ and φ (all three), or both.
      const src = block.rankSource;
      const rp = block.rankPath;
      const rho = [src.total_rank, src.sharing_ratio, src.intra_fraction];
      const given = rho.filter((v) => v !== undefined).length;
      if (given > 0 && given < 3) {
        for (const key of ['total_rank', 'sharing_ratio', 'intra_fraction'] as const) {
          if (src[key] === undefined)
            add([...rp, key], 'required with total_rank, sharing_ratio and intra_fraction (give all three)');
        }
      }
      if (src.ranks === undefined && given === 0) {
        add(
          block.path.length > 1 ? [...block.path] : ['grid', 'ranks'],
          'bslora needs ranks: give ranks (local/intra/inter triples), or total_rank with sharing_ratio and intra_fraction',
        );
      }
      (src.ranks ?? []).forEach((r, i) => {
        if (r.local + r.intra + r.inter === 0) add([...rp, 'ranks', i], 'local + intra + inter must be at least 1');
      });
      // A rank source shared by several blocks is reported once.
      if (src !== grid || block === blocks.find((b) => b.rankSource === grid)) {
        for (const f of block.rankFailures) {
          const index = f.field === 'sharing_ratio' ? f.ratioIndex : f.fractionIndex;
          add(axisPath(rp, f.field, src[f.field], index), f.message);
        }
      }
    }
    if (grid.paired) {
      if (grid.share_mode !== undefined && !modeFromGrid)
        add(['grid', 'share_mode'], 'has no effect: every paired block sets share_mode');
      if (!ranksFromGrid) {
        for (const key of ['ranks', 'total_rank', 'sharing_ratio', 'intra_fraction'] as const) {
          if (grid[key] !== undefined) add(['grid', key], 'has no effect: every paired block sets its own ranks');
        }
      }
    }
    if (grid.kron_share_size !== undefined && !kronUsedFromGrid.used)
      add(['grid', 'kron_share_size'], 'has no effect: no block uses share_mode kron with it');
    if (grid.gate_share_size !== undefined && !gateUsedFromGrid.used)
      add(['grid', 'gate_share_size'], 'has no effect: no block uses share_mode gate with it');
  }

  // Baseline ranks.
  if (methods.includes('lora') && grid.lora_ranks === undefined)
    add(['grid', 'lora_ranks'], 'required when method includes lora');
  if (!methods.includes('lora') && grid.lora_ranks !== undefined)
    add(['grid', 'lora_ranks'], 'applies only to method lora, which grid.method does not include');
  if (methods.includes('peft') && grid.peft === undefined) add(['grid', 'peft'], 'required when method includes peft');
  if (!methods.includes('peft') && grid.peft !== undefined)
    add(['grid', 'peft'], 'applies only to method peft, which grid.method does not include');
  const peftNames = (grid.peft ?? []).map((e) => e.name);
  for (const i of duplicates(peftNames))
    add(['grid', 'peft', i, 'name'], `duplicate peft entry name "${peftNames[i]}"`);
  if (!methods.includes('vera') && grid.vera_ranks !== undefined)
    add(['grid', 'vera_ranks'], 'applies only to method vera, which grid.method does not include');
  for (const key of ['lora_ranks', 'vera_ranks'] as const) {
    const list = asList(grid[key]) ?? [];
    for (const i of duplicates(list)) add(axisPath(['grid'], key, grid[key], i), `duplicate rank ${list[i]}`);
  }

  issues.push(...searchSpecIssues(spec));

  // Only enumerate when the grid itself is sound: the count and the expect rules depend on it.
  if (issues.some((i) => ['grid', 'training', 'search', 'task_type'].includes(String(i.path[0]))))
    return dedupe(issues);
  const planned = enumerateTrials(spec);
  const trials = planned.map(trialCoordinates);
  issues.push(...planSearch(spec, planned).issues);

  // Ranks against the model's shapes, where they are known here; a worker checks any other model the same way.
  const limit = rankLimit(spec.base_model, spec.target_modules);
  for (const t of trials) {
    const why =
      t.method === 'lora'
        ? rankDoesNotFit('lora rank', t.rank!, spec.base_model, limit)
        : t.method === 'bslora'
          ? rankDoesNotFit('bslora local rank', t.ranks!.local, spec.base_model, limit)
          : null;
    if (why) add(rankPath(spec, t.method, t.method === 'lora' ? t.rank! : t.ranks!.local), why);
  }

  (spec.expect ?? []).forEach((rule, i) => {
    const path = ['expect', i];
    const checkSelector = (selector: TrialSelector | null, key: string): TrialSelector | null => {
      if (selector && !trials.some((t) => matchesSelector(t, selector))) {
        add([...path, key], `matches no trial of this sweep (no ${describeSelector(selector)} trial)`);
        return null;
      }
      return selector;
    };
    checkSelector(parseTrialSelector(rule.best), 'best');
    const target = parseExpectTarget(rule.at_least);
    if (target?.kind === 'relative') checkSelector(target.selector, 'at_least');
    if (rule.param_reference !== undefined) {
      const ref = checkSelector(parseTrialSelector(rule.param_reference), 'param_reference');
      if (ref?.method === 'base')
        add([...path, 'param_reference'], 'base has no trainable parameters to compare with');
    }
    if (rule.max_param_share !== undefined && rule.param_reference === undefined) {
      if (target?.kind !== 'relative') {
        add(
          [...path, 'max_param_share'],
          'needs param_reference, or at_least naming a selector (e.g. "lora:r8 - 0.5")',
        );
      } else if (target.selector.method === 'base') {
        add(
          [...path, 'max_param_share'],
          'at_least names base, which has no trainable parameters; set param_reference',
        );
      }
    }
  });

  const max = spec.budget?.max_trials;
  if (max !== undefined && trials.length > max) {
    add(['budget', 'max_trials'], `the grid expands to ${trials.length} trials, more than max_trials ${max}`);
  }
  return dedupe(issues);
}
