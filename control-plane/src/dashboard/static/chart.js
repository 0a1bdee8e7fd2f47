// @ts-check
/**
 * The scatter of trainable parameters (log scale) against mean accuracy: one series per method and transformation,
 * LoRA baselines as large diamonds with reference lines at the baseline's accuracy and size, the untuned base model
 * as a reference line, and the Pareto front as a line. Rendered by Apache ECharts with its SVG renderer.
 *
 * Tooltips are built as DOM nodes (ECharts accepts elements from a formatter), so no trial string is ever parsed as
 * HTML; chart labels carry only numbers and fixed words.
 */
import * as echarts from './echarts.esm.min.mjs';
import { h } from './dom.js';
import {
  FRONT_COLOR,
  fmtAcc,
  fmtCount,
  fmtDelta,
  fmtInt,
  fmtLoss,
  fmtShare,
  groupStyle,
  ranksLabel,
  shareLabel,
  taskLabel,
  trainingLabel,
} from './format.js';

/** @typedef {import('./format.js').Trial} Trial */
/** @typedef {import('./api.js').SweepData} SweepData */
/** @typedef {import('./format.js').TrialDetail} TrialDetail */

/** ECharts measures text itself, so it needs real font names (the stylesheet's stack). */
const FONT =
  "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Liberation Sans', 'Helvetica Neue', Arial, sans-serif";

export const FRONT_SERIES_ID = 'pareto-front';
/** Above this many points in the chart its series are drawn in large mode and the chart does not animate. */
const LARGE = 2000;
const MAX_LABELS = 40;
export const BASE_SERIES_ID = 'base-reference';

/**
 * SVG (crisp, and its points can be found in the DOM) up to LARGE trials; canvas above, where one path of thousands
 * of symbols in an SVG attribute costs more than drawing them.
 * @param {HTMLElement} el
 * @param {number} trials - how many trials the sweep has
 */
export function createChart(el, trials) {
  const chart = echarts.init(el, null, { renderer: trials > LARGE ? 'canvas' : 'svg' });
  // The observer also reports the size the chart was created at; redrawing for that would draw everything twice.
  let size = `${el.clientWidth}x${el.clientHeight}`;
  new ResizeObserver(() => {
    const now = `${el.clientWidth}x${el.clientHeight}`;
    if (now !== size) chart.resize();
    size = now;
  }).observe(el);
  return chart;
}

/** A trial drawn as a point: it finished with a parameter count and an accuracy. @param {Trial} t */
export function isPlotted(t) {
  return t.trainable !== null && t.trainable > 0 && t.meanAcc !== null && Number.isFinite(t.meanAcc);
}

/**
 * An accuracy axis range on round ticks: the smallest step of 1, 2, 5, 10 or 20 points that needs at most 8 ticks.
 * @param {number[]} values
 * @param {number} pad
 */
function niceRange(values, pad) {
  if (values.length === 0) return { min: 0, max: 1, interval: 0.2 };
  const lo = Math.max(0, Math.min(...values) - pad);
  const hi = Math.min(1, Math.max(...values) + pad);
  const step = [0.01, 0.02, 0.05, 0.1, 0.2].find((s) => (hi - lo) / s <= 8) ?? 0.2;
  const round = (/** @type {number} */ v) => Math.round(v * 1e6) / 1e6;
  const min = round(Math.floor(round(lo / step)) * step);
  let max = round(Math.ceil(round(hi / step)) * step);
  if (max <= min) max = round(min + step);
  return { min, max, interval: step };
}

/**
 * The chart's option for one sweep. Series ids are stable so live updates merge into the drawn chart.
 * @param {SweepData} data
 * @param {{ tooltip: (trial: Trial) => HTMLElement, xName?: string }} [opts] xName: the x axis's measure
 */
export function chartOption(data, opts = { tooltip: (t) => trialTooltip(t, data, null) }) {
  const plotted = data.trials.filter((t) => t.method !== 'base' && isPlotted(t));
  const byGroup = new Map();
  for (const t of plotted) {
    if (!byGroup.has(t.group)) byGroup.set(t.group, []);
    byGroup.get(t.group).push(t);
  }
  const groups = [...byGroup.keys()].sort((a, b) => groupStyle(a).order - groupStyle(b).order || a.localeCompare(b));
  const baseline = data.trials.find((t) => t.name === data.loraBaseline && isPlotted(t)) ?? null;
  const bases = data.trials.filter((t) => t.method === 'base' && t.meanAcc !== null && Number.isFinite(t.meanAcc));
  const baseAcc = bases.length
    ? bases.reduce((s, t) => s + /** @type {number} */ (t.meanAcc), 0) / bases.length
    : null;
  const front = plotted
    .filter((t) => t.onFront)
    .sort((a, b) => /** @type {number} */ (a.trainable) - /** @type {number} */ (b.trainable));

  /** Trial keys by series id, for series whose points are plain [x, y] pairs (large mode). */
  /** @type {Map<string, string[]>} */
  const keysOf = new Map();
  /** @type {any[]} */
  const series = groups.map((group) => {
    const style = groupStyle(group);
    const isLora = group === 'lora';
    const points = byGroup.get(group);
    // Large mode once the chart as a whole is dense: a thousand LoRA seeds beside nine thousand BSLoRA points cost
    // a path per symbol otherwise. A handful of baseline points keeps its full symbols and labels.
    const large = plotted.length > LARGE && points.length > MAX_LABELS;
    /** @type {any} */
    const s = {
      id: `group:${group}`,
      name: style.label,
      type: 'scatter',
      z: isLora ? 4 : 3,
      symbol: style.symbol,
      // In large mode every symbol is one sub-path of one shape: a white border per point would paint the dense
      // parts white, so large series are drawn smaller and without it.
      symbolSize: large ? Math.ceil(style.size / 2) : style.size,
      itemStyle: {
        color: style.color,
        borderColor: style.symbol === 'emptyCircle' ? style.color : '#ffffff',
        borderWidth: large ? 0 : style.symbol === 'emptyCircle' ? 2.5 : 1.2,
        opacity: large ? 0.7 : 0.92,
      },
      emphasis: { scale: 1.5, itemStyle: { borderColor: '#111827', borderWidth: 2 } },
      // Thousands of points: ECharts' large mode draws them as one path, without per-point animation.
      large,
      largeThreshold: MAX_LABELS,
      data: large
        ? points.map((/** @type {Trial} */ t) => [t.trainable, t.meanAcc])
        : points.map((/** @type {Trial} */ t) => ({
            value: [t.trainable, t.meanAcc],
            // Numbers only: chart labels are plain text, but keep trial strings out of them regardless.
            trialKey: t.trialKey,
            rank: t.config.rank,
          })),
    };
    if (large)
      keysOf.set(
        s.id,
        points.map((/** @type {Trial} */ t) => t.trialKey),
      );
    if (isLora) {
      s.label = {
        // A label per point only while they can be read.
        show: points.length <= MAX_LABELS,
        position: 'right',
        distance: 8,
        color: style.color,
        fontWeight: 600,
        formatter: (/** @type {any} */ p) => (p.data.rank !== null ? `LoRA r${Number(p.data.rank)}` : 'LoRA'),
      };
      if (baseline) {
        const tag = baseline.config.rank !== null ? `LoRA r${Number(baseline.config.rank)}` : 'LoRA';
        s.markLine = {
          silent: true,
          symbol: 'none',
          lineStyle: { color: style.color, type: 'dashed', width: 1.2, opacity: 0.55 },
          label: { color: style.color, fontSize: 11 },
          data: [
            {
              yAxis: baseline.meanAcc,
              label: { formatter: `${tag} accuracy ${fmtAcc(baseline.meanAcc)}`, position: 'insideEndTop' },
            },
            {
              xAxis: baseline.trainable,
              label: { formatter: `${tag} size ${fmtCount(baseline.trainable)}`, position: 'end', distance: 4 },
            },
          ],
        };
      }
    }
    return s;
  });

  series.push({
    id: FRONT_SERIES_ID,
    name: 'Pareto front',
    type: 'line',
    z: 2,
    silent: true,
    // A ring around each front point (under the point itself), so a one-point front shows too.
    symbol: 'emptyCircle',
    symbolSize: 21,
    showAllSymbol: true,
    lineStyle: { color: FRONT_COLOR, width: 2.2, opacity: 0.85 },
    itemStyle: { color: FRONT_COLOR, borderWidth: 1.6, opacity: 0.8 },
    emphasis: { disabled: true },
    animationDuration: 300,
    data: front.map((t) => ({ value: [t.trainable, t.meanAcc], trialKey: t.trialKey })),
  });

  if (baseAcc !== null) {
    const style = groupStyle('base');
    series.push({
      id: BASE_SERIES_ID,
      name: style.label,
      type: 'line',
      symbol: 'none',
      itemStyle: { color: style.color },
      lineStyle: { color: style.color, type: 'dotted' },
      data: [],
      markLine: {
        silent: true,
        symbol: 'none',
        lineStyle: { color: style.color, type: 'dotted', width: 1.5 },
        label: {
          formatter: `base model ${fmtAcc(baseAcc)}`,
          position: 'insideStartTop',
          color: style.color,
          fontSize: 11,
        },
        data: [{ yAxis: baseAcc }],
      },
    });
  }

  const xs = plotted.map((t) => /** @type {number} */ (t.trainable));
  const ys = plotted.map((t) => /** @type {number} */ (t.meanAcc));
  if (baseAcc !== null) ys.push(baseAcc);
  const y = niceRange(ys, 0.02);
  const xMin = xs.length ? 10 ** Math.floor(Math.log10(Math.min(...xs)) - 0.02) : 1e3;
  let xMax = xs.length ? 10 ** Math.ceil(Math.log10(Math.max(...xs)) + 0.02) : 1e6;
  if (xMax <= xMin) xMax = xMin * 10;

  return {
    trialKeysOf: keysOf,
    animation: plotted.length <= LARGE,
    animationDuration: 300,
    animationDurationUpdate: 300,
    textStyle: { fontFamily: FONT },
    title: {
      show: plotted.length === 0,
      text: 'No finished trials yet',
      subtext: 'Points appear here as trials finish.',
      left: 'center',
      top: 'middle',
      textStyle: { color: '#64748b', fontSize: 15, fontWeight: 500 },
      subtextStyle: { color: '#94a3b8' },
    },
    legend: {
      top: 4,
      left: 'center',
      itemGap: 18,
      textStyle: { color: '#334155', fontSize: 12 },
      data: series.map((s) => s.name),
    },
    grid: { left: 72, right: 36, top: 66, bottom: 58, containLabel: false },
    tooltip: {
      trigger: 'item',
      confine: true,
      className: 'chart-tooltip',
      transitionDuration: 0.1,
      backgroundColor: '#ffffff',
      borderColor: '#cbd5e1',
      padding: 0,
      extraCssText: 'box-shadow: 0 8px 24px rgba(15,23,42,.16); border-radius: 8px;',
      formatter: (/** @type {any} */ p) => {
        const key = p?.data?.trialKey ?? keysOf.get(p?.seriesId)?.[p?.dataIndex];
        const trial = key ? data.byKey.get(key) : undefined;
        return trial ? opts.tooltip(trial) : h('div', { class: 'tip' }, String(p?.seriesName ?? ''));
      },
    },
    xAxis: {
      type: 'log',
      logBase: 10,
      min: xMin,
      max: xMax,
      name: `${opts.xName ?? 'trainable parameters'} (log)`,
      nameLocation: 'middle',
      nameGap: 34,
      nameTextStyle: { color: '#334155', fontSize: 13, fontWeight: 600 },
      axisLabel: { color: '#475569', formatter: (/** @type {number} */ v) => fmtCount(v) },
      axisLine: { lineStyle: { color: '#94a3b8' } },
      splitLine: { show: true, lineStyle: { color: '#e2e8f0' } },
      minorTick: { show: true },
      minorSplitLine: { show: true, lineStyle: { color: '#f1f5f9' } },
    },
    yAxis: {
      type: 'value',
      min: y.min,
      max: y.max,
      interval: y.interval,
      name: 'mean accuracy',
      nameLocation: 'middle',
      nameGap: 50,
      nameTextStyle: { color: '#334155', fontSize: 13, fontWeight: 600 },
      axisLabel: { color: '#475569', formatter: (/** @type {number} */ v) => `${Math.round(v * 1000) / 10}%` },
      axisLine: { show: true, lineStyle: { color: '#94a3b8' } },
      splitLine: { lineStyle: { color: '#e2e8f0' } },
    },
    series,
  };
}

/**
 * Where each plotted trial is in the option: trial key → series id and data index.
 * @param {any} option
 * @returns {Map<string, { seriesId: string, dataIndex: number }>}
 */
export function locatePoints(option) {
  const out = new Map();
  for (const s of option.series) {
    if (s.type !== 'scatter') continue;
    const keys = option.trialKeysOf?.get(s.id);
    s.data.forEach((/** @type {any} */ d, /** @type {number} */ i) =>
      out.set(keys ? keys[i] : d.trialKey, { seriesId: s.id, dataIndex: i }),
    );
  }
  return out;
}

/**
 * The hover card: the trial's configuration, its parameters and every task's accuracy. The plan's settings (learning
 * rate, training, alpha, dropout, modules), the parameter breakdown and each task's acc_norm and n come from the
 * trial's detail, loaded on demand: without it the card says that it is loading them.
 * @param {Trial} t
 * @param {SweepData} data
 * @param {TrialDetail | null} detail
 */
export function trialTooltip(t, data, detail) {
  const style = groupStyle(t.group);
  const plan = detail?.plan ?? null;
  const c = detail?.result?.counts ?? {};
  /** @type {[string, string][]} */
  const config = [['method', t.method]];
  if (t.config.shareMode) config.push(['share mode', shareLabel(t.config)]);
  if (t.config.ranks) config.push(['ranks (local/intra/inter)', ranksLabel(t.config)]);
  else if (t.config.rank !== null && t.config.rank !== undefined) config.push(['rank', String(t.config.rank)]);
  if (plan) {
    config.push(['learning rate', String(plan.training.learningRate)]);
    config.push([
      'training',
      `${trainingLabel(plan)} · batch ${plan.training.batchSize} · seq ${plan.training.seqLen}`,
    ]);
  }
  config.push(['seed', String(t.config.seed)]);
  if (plan) {
    if (plan.loraAlpha !== null && plan.loraAlpha !== undefined) config.push(['alpha', String(plan.loraAlpha)]);
    if (plan.method !== 'base') config.push(['dropout', String(plan.loraDropout)]);
    if (plan.targetModules.length) config.push(['modules', plan.targetModules.join(', ')]);
  }

  const parts = ['local', 'intra', 'inter', 'transform']
    .filter((k) => (c[k] ?? 0) > 0)
    .map((k) => `${k} ${fmtInt(c[k])}`);
  /** @type {[string, string][]} */
  const size = [['trainable', fmtInt(t.trainable)]];
  if (parts.length > 1 || (parts.length === 1 && !parts[0].startsWith('local')))
    size.push(['breakdown', parts.join(' · ')]);
  if (t.loraShare !== null && data.loraBaseline) size.push([`of ${data.loraBaseline}`, fmtShare(t.loraShare)]);

  /** @type {[string, string][]} */
  const acc = [['mean accuracy', fmtAcc(t.meanAcc)]];
  if (t.accDelta !== null && data.loraBaseline && t.name !== data.loraBaseline)
    acc.push([`vs ${data.loraBaseline}`, fmtDelta(t.accDelta)]);
  for (const task of data.tasks) {
    const m = detail?.result?.metrics?.[task];
    const a = t.accuracy[task];
    if (m) acc.push([taskLabel(task), `${fmtAcc(m.acc)}  (norm ${fmtAcc(m.accNorm)}, n=${m.n})`]);
    else if (a !== null && a !== undefined) acc.push([taskLabel(task), fmtAcc(a)]);
  }
  if (t.finalLoss !== null) acc.push(['final loss', fmtLoss(t.finalLoss)]);

  /** @param {[string, string][]} rows */
  const rowsOf = (rows) => rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)));
  /** @param {string} title */
  const section = (title) => h('tr', { class: 'tip-section' }, h('th', { colspan: 2 }, title));

  return h(
    'div',
    { class: 'tip', dataset: detail ? { trialKey: t.trialKey } : { trialKey: t.trialKey, loading: 'true' } },
    h(
      'div',
      { class: 'tip-head' },
      h('span', { class: 'swatch', style: { background: style.color } }),
      h('strong', { class: 'tip-name' }, t.name),
    ),
    h(
      'div',
      { class: 'tip-sub' },
      style.label,
      t.onFront ? h('span', { class: 'chip chip-front' }, 'Pareto front') : null,
    ),
    h(
      'table',
      { class: 'tip-grid' },
      h('tbody', null, rowsOf(config), section('parameters'), rowsOf(size), section('accuracy'), rowsOf(acc)),
    ),
    detail ? null : h('div', { class: 'tip-loading muted' }, 'loading the plan…'),
  );
}
