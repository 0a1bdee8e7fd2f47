/**
 * The plan of a successive-halving search (`search` in a sweep spec, docs/sweep-spec.md): its rungs, its budget
 * buckets, and each configuration's bucket, from trainable-parameter counts computed at submit without a worker
 * (params/count-llama-adapters.ts). Every problem is an issue at a spec path, as the other spec checks report them.
 */
import type { Trial } from '../gen/bslora_api/worker/v1/worker_service.js';
import { AdapterDoesNotFit, countLlamaAdapter } from '../params/count-llama-adapters.js';
import type { SpecCheckIssue } from '../sweep-specs/check-sweep-spec.js';
import type { SweepSpec } from '../sweep-specs/sweep-spec.js';
import { bucketOf, bucketsOf, describeBucket, emptyBuckets, type Bucket } from './budget-buckets.js';
import { rungSteps } from './rungs.js';

export const DEFAULT_SEARCH_ETA = 3;
export const DEFAULT_SEARCH_BUCKETS = 3;

export interface SearchConfig {
  /** Trial name without its seed suffix. */
  config: string;
  bucket: number;
  params: number;
  /** Plan order of its first trial (ties in selection go to the earlier configuration). */
  position: number;
  /** The names of its trials (one per seed). */
  trialNames: string[];
}

export interface SearchPlan {
  eta: number;
  minSteps: number;
  maxSteps: number;
  rungSteps: number[];
  buckets: Bucket[];
  configs: SearchConfig[];
}

/** The configuration a trial belongs to: its name without `-s<seed>`. */
export const configOfTrialName = (name: string): string => name.replace(/-s\d+$/, '');

/**
 * The plan of a spec's search over its trials (keys not needed), or the issues that refuse it. The structural rules
 * (η ≥ 2, min_steps ≤ max_steps, a validation source) are checked by `searchSpecIssues`; this adds what needs the
 * trials: that every trial's parameters can be counted, and that no bucket is empty.
 */
export function planSearch(
  spec: SweepSpec,
  trials: readonly Trial[],
): { plan: SearchPlan | null; issues: SpecCheckIssue[] } {
  const search = spec.search;
  if (!search) return { plan: null, issues: [] };
  const issues: SpecCheckIssue[] = [];
  const configs = new Map<string, SearchConfig>();
  trials.forEach((trial, position) => {
    const config = configOfTrialName(trial.name);
    const existing = configs.get(config);
    if (existing) {
      existing.trialNames.push(trial.name);
      return;
    }
    let counted;
    try {
      counted = countLlamaAdapter(trial);
    } catch (err) {
      if (!(err instanceof AdapterDoesNotFit)) throw err;
      issues.push({ path: ['grid'], message: `${trial.name}: ${err.message}` });
      return;
    }
    if (counted === null) {
      issues.push({
        path: ['search'],
        message: `the trainable parameters of ${trial.name} cannot be computed before training (only LoRA, VeRA and BSLoRA on the Llama-shaped models of proto/model-shapes.json, task_type causal_lm, can be): a search buckets configurations by parameters at submit; leave it out of the searched grid`,
      });
      return;
    }
    configs.set(config, { config, bucket: 0, params: counted.total, position, trialNames: [trial.name] });
  });
  if (issues.length > 0 || configs.size === 0) return { plan: null, issues };
  const list = [...configs.values()];
  const counts = list.map((c) => c.params);
  const budgets = search.budgets ?? { buckets: DEFAULT_SEARCH_BUCKETS };
  const buckets = bucketsOf(budgets, counts);
  for (const empty of emptyBuckets(buckets, counts)) {
    const path =
      'edges' in budgets
        ? ['search', 'budgets', 'edges', Math.min(empty.index, budgets.edges.length - 1)]
        : ['search', 'budgets', 'buckets'];
    issues.push({
      path,
      message: `bucket ${empty.index + 1} ${describeBucket(empty)} has no configuration (the grid's trainable parameters range from ${Math.min(...counts)} to ${Math.max(...counts)}): move the edges or use fewer buckets`,
    });
  }
  if (issues.length > 0) return { plan: null, issues };
  for (const c of list) c.bucket = bucketOf(buckets, c.params);
  const maxSteps = search.max_steps ?? spec.training.steps!;
  const eta = search.eta ?? DEFAULT_SEARCH_ETA;
  return {
    plan: {
      eta,
      minSteps: search.min_steps,
      maxSteps,
      rungSteps: rungSteps(search.min_steps, maxSteps, eta),
      buckets,
      configs: list,
    },
    issues,
  };
}

/** The rules of a `search` block that need no trials. */
export function searchSpecIssues(spec: SweepSpec): SpecCheckIssue[] {
  const search = spec.search;
  if (!search) return [];
  const issues: SpecCheckIssue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ path, message });
  if (spec.training.steps === undefined) {
    add(['training', 'epochs'], 'a search needs training.steps (its rungs are step counts), not epochs');
  }
  const maxSteps = search.max_steps ?? spec.training.steps;
  if (
    search.max_steps !== undefined &&
    spec.training.steps !== undefined &&
    search.max_steps !== spec.training.steps
  ) {
    add(
      ['search', 'max_steps'],
      `must equal training.steps (${spec.training.steps}): the configurations that reach the last rung are the grid's trials, trained for training.steps; leave max_steps out or set both to the same number`,
    );
  }
  if (maxSteps !== undefined && search.min_steps > maxSteps) {
    add(
      ['search', 'min_steps'],
      `must be <= max_steps (${maxSteps}${search.max_steps === undefined ? ', from training.steps' : ''}), got ${search.min_steps}`,
    );
  }
  if (spec.training.validation_holdout === undefined) {
    add(
      ['training', 'validation_holdout'],
      'a search needs a validation source: hold out training examples as the validation split it ranks by (e.g. validation_holdout: 200); the test split is never used to choose',
    );
  }
  if ((spec.task_type ?? 'causal_lm') !== 'causal_lm') {
    add(['task_type'], 'a search ranks by validation loss, which works with task_type causal_lm only');
  }
  const methods = Array.isArray(spec.grid.method) ? spec.grid.method : [spec.grid.method];
  const base = methods.indexOf('base');
  if (base !== -1) {
    add(
      Array.isArray(spec.grid.method) ? ['grid', 'method', base] : ['grid', 'method'],
      'base trains nothing, so a search cannot rank it: run the base model in a sweep of its own',
    );
  }
  return issues;
}
