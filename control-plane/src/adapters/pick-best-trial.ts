/**
 * `bslora adapter get --best`: the trial to hand out, chosen as an `expect` rule chooses its best configuration
 * (evaluate-expect-rules.ts): among the configurations `among` selects, with `maxParamShare` at most that fraction of
 * the best `paramReference` configuration's parameters, the best seed-mean metric; then, of that configuration's
 * seeds, the one with the highest metric.
 */
import { ControlPlaneError } from '../errors.js';
import { evaluateExpectRules, type ExpectTrialResult } from '../sweep-specs/index.js';
import { parseTrialSelector, SELECTOR_SYNTAX, type SelectableTrial } from '../sweep-specs/expect-rules.js';

/** A trial as the results endpoint returns it with `?include=plan,result`. */
export interface ResultsTrial {
  trialKey: string;
  name: string;
  method: string;
  status: string;
  trainable: number | null;
  meanAcc: number | null;
  /** The grid coordinates (the results endpoint's `config`). */
  config: {
    rank: number | null;
    ranks: { local: number; intra: number; inter: number } | null;
    shareMode: string | null;
    /** Name of the grid.peft entry of a peft trial (absent from older servers). */
    peftName?: string | null;
  } | null;
  result?: {
    metrics: Record<string, { acc: number; accNorm: number; n: number }> | null;
    adapterSha256: string | null;
  } | null;
}

export interface BestOptions {
  /** Selector of the competing configurations. @defaultValue 'bslora' */
  among?: string;
  metric?: 'mean_acc' | 'mean_acc_norm';
  maxParamShare?: number;
  /** Selector whose best configuration's parameters the share refers to. @defaultValue 'lora' */
  paramReference?: string;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function metricOf(t: ResultsTrial, metric: 'mean_acc' | 'mean_acc_norm'): number | null {
  if (metric === 'mean_acc') return t.meanAcc;
  return t.result?.metrics ? mean(Object.values(t.result.metrics).map((m) => m.accNorm)) : null;
}

export function pickBestTrial(
  trials: readonly ResultsTrial[],
  opts: BestOptions = {},
): { trial: ResultsTrial; why: string } {
  const among = opts.among ?? 'bslora';
  const paramReference = opts.paramReference ?? 'lora';
  for (const [flag, selector] of [
    ['--among', among],
    ['--param-reference', paramReference],
  ] as const) {
    if (!parseTrialSelector(selector)) {
      throw new ControlPlaneError(
        'CP_ERR_API_REQUEST',
        `${flag} ${JSON.stringify(selector)} is not a selector: use ${SELECTOR_SYNTAX}`,
      );
    }
  }
  const metric = opts.metric ?? 'mean_acc';
  const withAdapter = trials.filter((t) => t.status === 'completed' && t.result?.adapterSha256);
  const results: ExpectTrialResult[] = trials
    .filter((t) => t.status === 'completed' && t.config)
    .map((t) => ({
      method: t.method as SelectableTrial['method'],
      rank: t.config!.rank,
      shareMode: t.config!.shareMode as SelectableTrial['shareMode'],
      ranks: t.config!.ranks,
      peftName: t.config!.peftName ?? null,
      name: t.name,
      trainableParams: t.trainable,
      metrics: { mean_acc: t.meanAcc, mean_acc_norm: metricOf(t, 'mean_acc_norm') },
    }));
  const [verdict] = evaluateExpectRules(
    [
      {
        best: among,
        metric,
        at_least: 0,
        ...(opts.maxParamShare !== undefined
          ? { max_param_share: opts.maxParamShare, param_reference: paramReference }
          : {}),
      },
    ],
    results,
  );
  if (!verdict?.best) {
    throw new ControlPlaneError('CP_ERR_ADAPTER_NOT_FOUND', `no trial qualifies: ${verdict?.message ?? 'no results'}`);
  }
  const seeds = withAdapter
    .filter((t) => t.name.replace(/-s\d+$/, '') === verdict.best!.config)
    .sort((a, b) => (metricOf(b, metric) ?? -1) - (metricOf(a, metric) ?? -1));
  if (!seeds.length)
    throw new ControlPlaneError(
      'CP_ERR_ADAPTER_NOT_FOUND',
      `the best configuration ${verdict.best.config} has no stored adapter`,
    );
  return { trial: seeds[0]!, why: verdict.message };
}
