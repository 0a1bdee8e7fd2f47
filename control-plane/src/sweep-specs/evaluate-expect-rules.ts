/**
 * The verdict of a sweep's `expect` rules on its results (docs/sweep-spec.md, `expect`). Pure: the sweep job
 * gathers results from the store and calls this.
 */
import { matchesSelector, parseExpectTarget, parseTrialSelector, type SelectableTrial, type TrialSelector } from './expect-rules.js';
import type { SweepSpec } from './sweep-spec.js';

/** One finished trial as the rules see it. */
export interface ExpectTrialResult extends SelectableTrial {
  /** Trial name (`bslora-kron256-2/4/16-s0`); the configuration is the name without its `-s<seed>` suffix. */
  name: string;
  /** Trainable parameters; `null` when unknown. */
  trainableParams: number | null;
  /** Metric values; a missing or `null` metric is no result. See {@link EvaluateExpectOptions.metricScale}. */
  metrics: Partial<Record<'mean_acc' | 'mean_acc_norm', number | null>>;
}

/** Options for {@link evaluateExpectRules}. */
export interface EvaluateExpectOptions {
  /**
   * Scale of the metric values in results: `'fraction'` (0–1, as the store keeps accuracy) or `'points'` (0–100).
   * Targets and offsets in the spec are always in points.
   * @defaultValue `'fraction'`
   */
  metricScale?: 'fraction' | 'points';
}

/** The outcome of one rule. */
export interface ExpectVerdict {
  index: number;
  name: string;
  passed: boolean;
  /** One line saying why, with the numbers. */
  message: string;
  /** The best competing configuration and its seed-mean value in points, when there was one. */
  best: { config: string; value: number; paramShare: number | null } | null;
  /** The value it had to reach, in points, when known. */
  target: number | null;
}

interface ConfigResult {
  config: string;
  sample: SelectableTrial;
  /** Seed-mean metric in points, or null. */
  value: number | null;
  params: number | null;
}

function mean(xs: number[]): number | null {
  return xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function groupConfigs(results: readonly ExpectTrialResult[], metric: 'mean_acc' | 'mean_acc_norm', scale: number): ConfigResult[] {
  const groups = new Map<string, ExpectTrialResult[]>();
  for (const r of results) {
    const config = r.name.replace(/-s\d+$/, '');
    groups.set(config, [...(groups.get(config) ?? []), r]);
  }
  return [...groups].map(([config, rs]) => ({
    config,
    sample: rs[0]!,
    value: mean(rs.map((r) => r.metrics[metric]).filter((v): v is number => typeof v === 'number').map((v) => v * scale)),
    params: mean(rs.map((r) => r.trainableParams).filter((v): v is number => typeof v === 'number')),
  }));
}

function bestOf(configs: readonly ConfigResult[], selector: TrialSelector): ConfigResult | null {
  let best: ConfigResult | null = null;
  for (const c of configs) {
    if (c.value === null || !matchesSelector(c.sample, selector)) continue;
    if (!best || c.value > best.value!) best = c;
  }
  return best;
}

const fmt = (x: number): string => x.toFixed(2);

/**
 * Evaluates a spec's `expect` rules against its trial results.
 *
 * A rule passes when, among the configurations its `best` selector picks (restricted, with `max_param_share`, to
 * those with at most that fraction of the parameter reference's trainable parameters), the best seed-mean metric
 * reaches the target. A rule whose competitors or reference have no result fails, saying so.
 *
 * @example
 * evaluateExpectRules(spec.expect, trials.map((t) => ({ ...t, trainableParams, metrics: { mean_acc } })));
 */
export function evaluateExpectRules(
  rules: SweepSpec['expect'],
  results: readonly ExpectTrialResult[],
  options: EvaluateExpectOptions = {},
): ExpectVerdict[] {
  const scale = (options.metricScale ?? 'fraction') === 'fraction' ? 100 : 1;
  return (rules ?? []).map((rule, index) => {
    const name = rule.name ?? `${rule.best} ${rule.metric} >= ${rule.at_least}`;
    const verdict = (passed: boolean, message: string, best: ExpectVerdict['best'] = null, target: number | null = null): ExpectVerdict => ({
      index,
      name,
      passed,
      message,
      best,
      target,
    });
    const metric = rule.metric ?? 'mean_acc';
    const configs = groupConfigs(results, metric, scale);
    const bestSelector = parseTrialSelector(rule.best);
    const target = parseExpectTarget(rule.at_least);
    if (!bestSelector || !target) return verdict(false, 'the rule does not parse');

    let targetValue: number;
    let targetText: string;
    if (target.kind === 'value') {
      targetValue = target.value;
      targetText = fmt(target.value);
    } else {
      const ref = bestOf(configs, target.selector);
      if (!ref) return verdict(false, `no result for the reference ${String(rule.at_least).trim()}`);
      targetValue = ref.value! + target.offset;
      targetText = `${fmt(targetValue)} (${ref.config} ${fmt(ref.value!)}${target.offset ? ` ${target.offset < 0 ? '-' : '+'} ${Math.abs(target.offset)}` : ''})`;
    }

    let budget: number | null = null;
    let budgetText = '';
    let refParams: number | null = null;
    if (rule.max_param_share !== undefined) {
      const paramSelector = rule.param_reference ? parseTrialSelector(rule.param_reference) : target.kind === 'relative' ? target.selector : null;
      const paramRef = paramSelector ? bestOf(configs, paramSelector) : null;
      if (!paramRef || paramRef.params === null) return verdict(false, 'no parameter count for the parameter reference', null, targetValue);
      refParams = paramRef.params;
      budget = rule.max_param_share * paramRef.params;
      budgetText = ` with at most ${fmt(rule.max_param_share * 100)}% of ${paramRef.config}'s ${paramRef.params} parameters`;
    }

    const candidates = configs.filter(
      (c) => matchesSelector(c.sample, bestSelector) && (budget === null || (c.params !== null && c.params <= budget)),
    );
    const best = bestOf(candidates, bestSelector);
    if (!best) return verdict(false, `no ${rule.best} configuration${budgetText} has a result`, null, targetValue);
    const share = refParams !== null && best.params !== null ? best.params / refParams : null;
    const passed = best.value! >= targetValue - 1e-9;
    const shareText = share !== null ? `, ${fmt(share * 100)}% of the reference's parameters` : '';
    return verdict(
      passed,
      `best ${rule.best}${budgetText}: ${best.config} (${metric} ${fmt(best.value!)}${shareText}) ${passed ? '>=' : '<'} target ${targetText}`,
      { config: best.config, value: best.value!, paramShare: share },
      targetValue,
    );
  });
}
