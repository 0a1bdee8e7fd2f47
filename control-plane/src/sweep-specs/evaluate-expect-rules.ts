/**
 * The verdict of a sweep's `expect` rules on its results (docs/sweep-spec.md, `expect`). Pure: the sweep job
 * gathers results from the store and calls this.
 */
import {
  matchesSelector,
  parseExpectTarget,
  parseTrialSelector,
  type SelectableTrial,
  type TrialSelector,
} from './expect-rules.js';
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
  /**
   * Intervals for rules with `confidence`. Without it, such a rule fails saying that no intervals are available.
   * Values are in the results' metric scale, like the metrics.
   */
  intervals?: ConfidenceIntervals;
}

/** An interval of a configuration's accuracy, or of a difference between two, at some confidence. */
export type Interval = { mean: number; lo: number; hi: number } | { error: string };

/** What rules with `confidence` need, by configuration name (the trial name without `-s<seed>`). */
export interface ConfidenceIntervals {
  /** The t interval over seeds of a configuration's mean accuracy. */
  mean(config: string, confidence: number): Interval;
  /** The paired difference `candidate − reference` on the same eval items, with its bootstrap interval. */
  difference(candidate: string, reference: string, confidence: number): Interval;
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

function groupConfigs(
  results: readonly ExpectTrialResult[],
  metric: 'mean_acc' | 'mean_acc_norm',
  scale: number,
): ConfigResult[] {
  const groups = new Map<string, ExpectTrialResult[]>();
  for (const r of results) {
    const config = r.name.replace(/-s\d+$/, '');
    groups.set(config, [...(groups.get(config) ?? []), r]);
  }
  return [...groups].map(([config, rs]) => ({
    config,
    sample: rs[0]!,
    value: mean(
      rs
        .map((r) => r.metrics[metric])
        .filter((v): v is number => typeof v === 'number')
        .map((v) => v * scale),
    ),
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
    const verdict = (
      passed: boolean,
      message: string,
      best: ExpectVerdict['best'] = null,
      target: number | null = null,
    ): ExpectVerdict => ({
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
      const paramSelector = rule.param_reference
        ? parseTrialSelector(rule.param_reference)
        : target.kind === 'relative'
          ? target.selector
          : null;
      const paramRef = paramSelector ? bestOf(configs, paramSelector) : null;
      if (!paramRef || paramRef.params === null)
        return verdict(false, 'no parameter count for the parameter reference', null, targetValue);
      refParams = paramRef.params;
      budget = rule.max_param_share * paramRef.params;
      budgetText = ` with at most ${fmt(rule.max_param_share * 100)}% of ${paramRef.config}'s ${paramRef.params} parameters`;
    }

    const candidates = configs.filter(
      (c) => matchesSelector(c.sample, bestSelector) && (budget === null || (c.params !== null && c.params <= budget)),
    );
    if (rule.confidence !== undefined) {
      const ref = target.kind === 'relative' ? bestOf(configs, target.selector) : null;
      return judgeWithConfidence(
        rule.confidence,
        candidates,
        target,
        ref,
        targetValue,
        refParams,
        budgetText,
        rule.best,
        options.intervals,
        scale,
        verdict,
      );
    }
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

/**
 * A rule with `confidence`: each candidate's lower bound (of its paired difference to the target's reference, or of
 * its t interval for a number) must reach the target; the candidate with the highest lower bound is reported.
 */
function judgeWithConfidence(
  confidence: number,
  candidates: readonly ConfigResult[],
  target: NonNullable<ReturnType<typeof parseExpectTarget>>,
  ref: ConfigResult | null,
  targetValue: number,
  refParams: number | null,
  budgetText: string,
  bestText: string,
  intervals: ConfidenceIntervals | undefined,
  scale: number,
  verdict: (passed: boolean, message: string, best?: ExpectVerdict['best'], target?: number | null) => ExpectVerdict,
): ExpectVerdict {
  const pct = `${fmt(confidence * 100)}%`;
  if (!intervals) return verdict(false, `no intervals are available to judge at ${pct} confidence`, null, targetValue);
  const withValue = candidates.filter((c) => c.value !== null);
  if (withValue.length === 0)
    return verdict(false, `no ${bestText} configuration${budgetText} has a result`, null, targetValue);
  // The lower bound each candidate reaches, on the target's scale: the reference's mean plus the difference's
  // lower bound (relative targets), or the candidate's own lower bound (numbers).
  let best: { c: ConfigResult; lo: number; text: string } | null = null;
  const errors: string[] = [];
  for (const c of withValue) {
    const iv =
      target.kind === 'relative'
        ? intervals.difference(c.config, ref!.config, confidence)
        : intervals.mean(c.config, confidence);
    if ('error' in iv) {
      errors.push(`${c.config}: ${iv.error}`);
      continue;
    }
    const [mean, lo, hi] = [iv.mean * scale, iv.lo * scale, iv.hi * scale];
    const bound = target.kind === 'relative' ? ref!.value! + lo : lo;
    const text =
      target.kind === 'relative'
        ? `paired difference to ${ref!.config} ${signed(mean)} [${signed(lo)}, ${signed(hi)}] at ${pct}`
        : `${fmt(mean)} [${fmt(lo)}, ${fmt(hi)}] at ${pct}`;
    if (!best || bound > best.lo) best = { c, lo: bound, text };
  }
  if (!best) return verdict(false, `no interval at ${pct} confidence: ${errors.join('; ')}`, null, targetValue);
  const passed = best.lo >= targetValue - 1e-9;
  const share = refParams !== null && best.c.params !== null ? best.c.params / refParams : null;
  const shareText = share !== null ? `, ${fmt(share * 100)}% of the reference's parameters` : '';
  const need =
    target.kind === 'relative'
      ? `lower bound ${signed(best.lo - ref!.value!)} ${passed ? '>=' : '<'} ${signed(target.offset)}`
      : `lower bound ${fmt(best.lo)} ${passed ? '>=' : '<'} target ${fmt(targetValue)}`;
  return verdict(
    passed,
    `best ${bestText}${budgetText}: ${best.c.config} (${best.text}${shareText}): ${need}${passed ? '' : ' (not beyond the noise)'}`,
    { config: best.c.config, value: best.c.value!, paramShare: share },
    targetValue,
  );
}

const signed = (x: number): string => `${x >= 0 ? '+' : ''}${fmt(x)}`;
