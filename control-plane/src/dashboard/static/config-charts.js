// @ts-check
/**
 * Chart options for configuration-level results (docs/statistics.md): one point per configuration (a trial without
 * its seed) with its 95 % interval over seeds. Four views along the method's axes:
 *
 * - parameters against accuracy: error bars, the Pareto front over configuration means, front points whose
 *   advantage over the best cheaper configuration lies within the noise drawn hollow;
 * - accuracy against the sharing ratio ρ: one line per share mode with a confidence band (at each ρ, the most
 *   accurate configuration of that mode);
 * - ρ × φ as a heat map for one share mode (each cell: the most accurate configuration there);
 * - accuracy per eval task for selected configurations, with error bars.
 *
 * Pure functions of the data (no DOM), so the options and their CSV can be checked on their own. Labels carry only
 * numbers and fixed words; configuration names appear in tooltips as text nodes (config-views.js).
 */
import { FRONT_COLOR, groupStyle, taskLabel } from './format.js';

/**
 * @typedef {{ n: number, mean: number, sd: number | null, lo: number | null, hi: number | null, halfWidth: number |
 * null, confidence: number }} MeanInterval
 * @typedef {{ mean: number, lo: number, hi: number, confidence: number, items: number, seeds: { candidate: number,
 * reference: number }, replicates: number }} PairedDifference
 * @typedef {{ configKey: string, name: string, method: string, rank: number | null, ranks: { local: number, intra:
 * number, inter: number } | null,
 *   shareMode: string | null, kronShareSize: number | null, gateShareSize: number | null, sharingRatio: number | null,
 * intraFraction: number | null,
 *   trainable: number | null, seeds: number[], trialKeys: string[], planned: number, tasks: Record<string,
 * MeanInterval>, mean: MeanInterval | null,
 *   vsReference: { versus: string, mean: PairedDifference | null, tasks: Record<string, PairedDifference | null>,
 * reason: string | null } | null,
 *   onFront: boolean, frontNoise: { versus: string, diff: PairedDifference | null, withinNoise: boolean } | null }}
 * Configuration
 * @typedef {{ confidence: number, reference: string | null, configurations: Configuration[] }} ConfigurationResults
 */

const FONT =
  "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'Liberation Sans', 'Helvetica Neue', Arial, sans-serif";
const TEXT = { fontFamily: FONT, color: '#374151' };

/**
 * The group a configuration is drawn in (`lora`, `bslora-kron`, …), as the trial chart colours them. @param
 * {Configuration} c
 */
export function configGroup(c) {
  return c.method === 'bslora' ? `bslora-${c.shareMode ?? 'slice'}` : c.method;
}

/** A configuration with a mean and a parameter count. @param {Configuration} c */
export function isPlottedConfig(c) {
  return c.mean !== null && c.trainable !== null && c.trainable > 0 && c.method !== 'base';
}

const pts = (/** @type {number | null | undefined} */ x) =>
  x === null || x === undefined ? '—' : (x * 100).toFixed(1);

/** `81.2 ± 4.4 (3)` in points. @param {MeanInterval | null | undefined} m */
export function fmtInterval(m) {
  if (!m) return '—';
  return m.halfWidth === null ? `${pts(m.mean)} (${m.n})` : `${pts(m.mean)} ± ${pts(m.halfWidth)} (${m.n})`;
}

/** `+1.5 [-0.8, +3.9]` in points. @param {PairedDifference | null | undefined} d */
export function fmtDifference(d) {
  if (!d) return '—';
  const s = (/** @type {number} */ x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;
  return `${s(d.mean)} [${s(d.lo)}, ${s(d.hi)}]`;
}

/**
 * An error bar drawn by a custom series: a vertical line from `lo` to `hi` with caps, at `x`, shifted `dx` pixels.
 * @param {any} api
 * @param {number | string} x
 * @param {number} lo
 * @param {number} hi
 * @param {string} color
 * @param {number} [dx]
 */
function errorBar(api, x, lo, hi, color, dx = 0) {
  const a = api.coord([x, lo]);
  const b = api.coord([x, hi]);
  const style = { stroke: color, lineWidth: 1.5 };
  return [
    { type: 'line', shape: { x1: a[0] + dx, y1: a[1], x2: b[0] + dx, y2: b[1] }, style },
    { type: 'line', shape: { x1: a[0] + dx - 4, y1: a[1], x2: a[0] + dx + 4, y2: a[1] }, style },
    { type: 'line', shape: { x1: b[0] + dx - 4, y1: b[1], x2: b[0] + dx + 4, y2: b[1] }, style },
  ];
}

/**
 * Parameters (log) against mean accuracy: a scatter per group, an error-bar series per group, the front over
 * configuration means, front points within the noise drawn as hollow rings.
 * @param {ConfigurationResults} r
 */
export function paramsOption(r) {
  const plotted = r.configurations.filter(isPlottedConfig);
  const groups = [...new Set(plotted.map(configGroup))].sort((a, b) => groupStyle(a).order - groupStyle(b).order);
  /** @type {any[]} */
  const series = [];
  for (const g of groups) {
    const style = groupStyle(g);
    const cs = plotted.filter((c) => configGroup(c) === g);
    series.push({
      id: `cfg:${g}`,
      name: style.label,
      type: 'scatter',
      symbol: 'circle',
      symbolSize: 11,
      z: 4,
      itemStyle: { color: style.color, borderColor: '#ffffff', borderWidth: 1 },
      data: cs.map((c) => ({
        value: [c.trainable, /** @type {MeanInterval} */ (c.mean).mean],
        configKey: c.configKey,
      })),
    });
    series.push({
      id: `bars:${g}`,
      name: style.label,
      type: 'custom',
      z: 3,
      silent: true,
      data: cs.filter((c) => c.mean?.lo != null).map((c) => [c.trainable, c.mean?.lo, c.mean?.hi]),
      renderItem: (/** @type {any} */ _p, /** @type {any} */ api) => ({
        type: 'group',
        children: errorBar(api, api.value(0), api.value(1), api.value(2), style.color),
      }),
    });
  }
  const front = plotted
    .filter((c) => c.onFront)
    .sort((a, b) => /** @type {number} */ (a.trainable) - /** @type {number} */ (b.trainable));
  series.push({
    id: 'config-front',
    name: 'Pareto front (configuration means)',
    type: 'line',
    z: 2,
    silent: true,
    symbol: 'none',
    lineStyle: { color: FRONT_COLOR, width: 2 },
    itemStyle: { color: FRONT_COLOR },
    data: front.map((c) => ({
      value: [c.trainable, /** @type {MeanInterval} */ (c.mean).mean],
      configKey: c.configKey,
    })),
  });
  series.push({
    id: 'front-noise',
    name: 'front, within noise',
    type: 'scatter',
    z: 5,
    symbol: 'circle',
    symbolSize: 22,
    // A ring around the point (transparent inside, so the point stays visible).
    itemStyle: { color: 'rgba(0, 0, 0, 0)', borderColor: FRONT_COLOR, borderWidth: 2, borderType: 'dashed' },
    data: front
      .filter((c) => c.frontNoise?.withinNoise)
      .map((c) => ({ value: [c.trainable, /** @type {MeanInterval} */ (c.mean).mean], configKey: c.configKey })),
  });
  return {
    animation: false,
    textStyle: TEXT,
    grid: { left: 64, right: 28, top: 48, bottom: 56 },
    legend: {
      top: 8,
      data: [...groups.map((g) => groupStyle(g).label), 'Pareto front (configuration means)', 'front, within noise'],
    },
    tooltip: { trigger: 'item' },
    xAxis: { type: 'log', name: 'trainable parameters', nameLocation: 'middle', nameGap: 30, scale: true },
    yAxis: {
      type: 'value',
      name: `mean accuracy (± ${Math.round(r.confidence * 100)} % CI)`,
      scale: true,
      axisLabel: { formatter: (/** @type {number} */ v) => `${(v * 100).toFixed(0)}%` },
    },
    series,
  };
}

/**
 * At each (share mode, ρ) the most accurate configuration.
 * @param {ConfigurationResults} r
 * @returns {Map<string, Configuration[]>} share mode → configurations by ascending ρ
 */
export function bestByRatio(r) {
  /** @type {Map<string, Map<number, Configuration>>} */
  const byMode = new Map();
  for (const c of r.configurations) {
    if (c.method !== 'bslora' || c.sharingRatio === null || !c.mean) continue;
    const mode = c.shareMode ?? 'slice';
    if (!byMode.has(mode)) byMode.set(mode, new Map());
    const m = /** @type {Map<number, Configuration>} */ (byMode.get(mode));
    const key = Math.round(c.sharingRatio * 1e6) / 1e6;
    const best = m.get(key);
    if (!best || /** @type {MeanInterval} */ (best.mean).mean < c.mean.mean) m.set(key, c);
  }
  return new Map(
    [...byMode]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([mode, m]) => [mode, [...m].sort(([a], [b]) => a - b).map(([, c]) => c)]),
  );
}

/**
 * Accuracy against ρ: per share mode a line through the best configuration at each ρ and its interval as a band.
 * @param {ConfigurationResults} r
 */
export function ratioOption(r) {
  const modes = bestByRatio(r);
  /** @type {any[]} */
  const series = [];
  for (const [mode, cs] of modes) {
    const style = groupStyle(`bslora-${mode}`);
    const band = cs.filter((c) => c.mean?.lo != null).map((c) => [c.sharingRatio, c.mean?.lo, c.mean?.hi]);
    series.push({
      id: `band:${mode}`,
      name: style.label,
      type: 'custom',
      silent: true,
      z: 1,
      // One datum draws the whole band: the upper bounds left to right, then the lower bounds back.
      data: band.length ? [[0]] : [],
      renderItem: (/** @type {any} */ _p, /** @type {any} */ api) => ({
        type: 'polygon',
        shape: {
          points: [
            ...band.map((b) => api.coord([b[0], b[2]])),
            ...[...band].reverse().map((b) => api.coord([b[0], b[1]])),
          ],
        },
        style: { fill: style.color, opacity: 0.18 },
      }),
    });
    series.push({
      id: `ratio:${mode}`,
      name: style.label,
      type: 'line',
      z: 3,
      symbolSize: 8,
      itemStyle: { color: style.color },
      lineStyle: { color: style.color, width: 2 },
      data: cs.map((c) => ({
        value: [c.sharingRatio, /** @type {MeanInterval} */ (c.mean).mean],
        configKey: c.configKey,
      })),
    });
  }
  return {
    animation: false,
    textStyle: TEXT,
    grid: { left: 64, right: 28, top: 48, bottom: 56 },
    legend: { top: 8, data: [...modes.keys()].map((m) => groupStyle(`bslora-${m}`).label) },
    tooltip: { trigger: 'item' },
    xAxis: {
      type: 'value',
      name: 'sharing ratio ρ = (intra + inter) / total rank',
      nameLocation: 'middle',
      nameGap: 30,
      min: 0,
      max: 1,
    },
    yAxis: {
      type: 'value',
      name: `mean accuracy (± ${Math.round(r.confidence * 100)} % CI)`,
      scale: true,
      axisLabel: { formatter: (/** @type {number} */ v) => `${(v * 100).toFixed(0)}%` },
    },
    series,
  };
}

/** The share modes with BSLoRA results. @param {ConfigurationResults} r */
export function shareModes(r) {
  return [
    ...new Set(r.configurations.filter((c) => c.method === 'bslora' && c.mean).map((c) => c.shareMode ?? 'slice')),
  ].sort();
}

const fmtAxis = (/** @type {number} */ x) => String(Math.round(x * 1000) / 1000);

/**
 * The ρ × φ grid of one share mode: each cell the most accurate configuration there.
 * @param {ConfigurationResults} r
 * @param {string} mode
 */
export function heatCells(r, mode) {
  /** @type {Map<string, Configuration>} */
  const cells = new Map();
  for (const c of r.configurations) {
    if (
      c.method !== 'bslora' ||
      (c.shareMode ?? 'slice') !== mode ||
      !c.mean ||
      c.sharingRatio === null ||
      c.intraFraction === null
    )
      continue;
    const key = `${fmtAxis(c.sharingRatio)}|${fmtAxis(c.intraFraction)}`;
    const best = cells.get(key);
    if (!best || /** @type {MeanInterval} */ (best.mean).mean < c.mean.mean) cells.set(key, c);
  }
  const rhos = [...new Set([...cells.values()].map((c) => /** @type {number} */ (c.sharingRatio)))]
    .sort((a, b) => a - b)
    .map(fmtAxis);
  const phis = [...new Set([...cells.values()].map((c) => /** @type {number} */ (c.intraFraction)))]
    .sort((a, b) => a - b)
    .map(fmtAxis);
  const rhoAxis = [...new Set(rhos)];
  const phiAxis = [...new Set(phis)];
  return {
    rhos: rhoAxis,
    phis: phiAxis,
    cells: [...cells.values()].map((c) => ({
      x: rhoAxis.indexOf(fmtAxis(/** @type {number} */ (c.sharingRatio))),
      y: phiAxis.indexOf(fmtAxis(/** @type {number} */ (c.intraFraction))),
      config: c,
    })),
  };
}

/**
 * @param {ConfigurationResults} r
 * @param {string} mode
 */
export function heatOption(r, mode) {
  const { rhos, phis, cells } = heatCells(r, mode);
  const values = cells.map((c) => /** @type {MeanInterval} */ (c.config.mean).mean);
  return {
    animation: false,
    textStyle: TEXT,
    grid: { left: 72, right: 96, top: 24, bottom: 56 },
    tooltip: { trigger: 'item' },
    xAxis: {
      type: 'category',
      name: 'ρ (sharing ratio)',
      nameLocation: 'middle',
      nameGap: 30,
      data: rhos,
      splitArea: { show: true },
    },
    yAxis: {
      type: 'category',
      name: 'φ (intra fraction)',
      nameLocation: 'middle',
      nameGap: 48,
      data: phis,
      splitArea: { show: true },
    },
    visualMap: {
      min: values.length ? Math.min(...values) : 0,
      max: values.length ? Math.max(...values) : 1,
      calculable: false,
      orient: 'vertical',
      right: 8,
      top: 'middle',
      inRange: { color: ['#eff6ff', '#1d4ed8'] },
      formatter: (/** @type {number} */ v) => `${(v * 100).toFixed(1)}%`,
    },
    series: [
      {
        id: `heat:${mode}`,
        type: 'heatmap',
        data: cells.map((c) => ({
          value: [c.x, c.y, /** @type {MeanInterval} */ (c.config.mean).mean],
          configKey: c.config.configKey,
        })),
        label: {
          show: true,
          formatter: (/** @type {any} */ p) =>
            fmtInterval(cells.find((c) => c.config.configKey === p.data.configKey)?.config.mean),
        },
      },
    ],
  };
}

/** Eval tasks of a set of configurations, sorted. @param {Configuration[]} cs */
export function tasksOf(cs) {
  return [...new Set(cs.flatMap((c) => Object.keys(c.tasks)))].sort();
}

const TASK_COLORS = ['#2563eb', '#d97706', '#059669', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#9333ea'];

/**
 * Accuracy per task for the chosen configurations: configurations along x, one colour per task, error bars.
 * @param {Configuration[]} chosen
 */
export function tasksOption(chosen) {
  const tasks = tasksOf(chosen);
  const spread = 16;
  return {
    animation: false,
    textStyle: TEXT,
    grid: { left: 64, right: 28, top: 48, bottom: 96 },
    legend: { top: 8, data: tasks.map(taskLabel) },
    tooltip: { trigger: 'item' },
    xAxis: {
      type: 'category',
      data: chosen.map((_, i) => i),
      axisLabel: { formatter: (/** @type {string} */ i) => `#${Number(i) + 1}` },
    },
    yAxis: {
      type: 'value',
      name: 'accuracy (± CI)',
      scale: true,
      axisLabel: { formatter: (/** @type {number} */ v) => `${(v * 100).toFixed(0)}%` },
    },
    series: tasks.map((task, k) => {
      const color = TASK_COLORS[k % TASK_COLORS.length];
      const dx = (k - (tasks.length - 1) / 2) * spread;
      return {
        id: `task:${k}`,
        name: taskLabel(task),
        type: 'custom',
        itemStyle: { color },
        data: chosen
          .map((c, i) => ({ c, i }))
          .filter(({ c }) => c.tasks[task])
          .map(({ c, i }) => ({
            value: [
              i,
              c.tasks[task].mean,
              c.tasks[task].lo ?? c.tasks[task].mean,
              c.tasks[task].hi ?? c.tasks[task].mean,
            ],
            configKey: c.configKey,
            task,
          })),
        renderItem: (/** @type {any} */ _p, /** @type {any} */ api) => {
          const at = api.coord([api.value(0), api.value(1)]);
          return {
            type: 'group',
            children: [
              ...errorBar(api, api.value(0), api.value(2), api.value(3), color, dx),
              {
                type: 'circle',
                shape: { cx: at[0] + dx, cy: at[1], r: 5 },
                style: { fill: color, stroke: '#ffffff', lineWidth: 1 },
              },
            ],
          };
        },
      };
    }),
  };
}

const csvCell = (/** @type {unknown} */ v) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** @param {(string | number | boolean | null | undefined)[][]} rows */
export const toCsv = (rows) => `${rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`;

/** The data behind the parameters view. @param {ConfigurationResults} r */
export function paramsCsv(r) {
  return toCsv([
    [
      'configuration',
      'method',
      'share_mode',
      'trainable',
      'seeds',
      'mean_acc',
      'sd',
      'lo',
      'hi',
      'on_front',
      'front_within_noise',
      'reference',
      'diff',
      'diff_lo',
      'diff_hi',
      'config_key',
    ],
    ...r.configurations.map((c) => [
      c.name,
      c.method,
      c.shareMode,
      c.trainable,
      c.seeds.length,
      c.mean?.mean,
      c.mean?.sd,
      c.mean?.lo,
      c.mean?.hi,
      c.onFront,
      c.frontNoise?.withinNoise ?? '',
      c.vsReference?.versus,
      c.vsReference?.mean?.mean,
      c.vsReference?.mean?.lo,
      c.vsReference?.mean?.hi,
      c.configKey,
    ]),
  ]);
}

/** The data behind the ρ view. @param {ConfigurationResults} r */
export function ratioCsv(r) {
  const rows = [];
  for (const [mode, cs] of bestByRatio(r))
    for (const c of cs)
      rows.push([mode, c.sharingRatio, c.name, c.seeds.length, c.mean?.mean, c.mean?.lo, c.mean?.hi]);
  return toCsv([['share_mode', 'sharing_ratio', 'configuration', 'seeds', 'mean_acc', 'lo', 'hi'], ...rows]);
}

/** The data behind the heat map. @param {ConfigurationResults} r @param {string} mode */
export function heatCsv(r, mode) {
  const { cells } = heatCells(r, mode);
  return toCsv([
    ['share_mode', 'sharing_ratio', 'intra_fraction', 'configuration', 'seeds', 'mean_acc', 'lo', 'hi'],
    ...cells.map(({ config: c }) => [
      mode,
      c.sharingRatio,
      c.intraFraction,
      c.name,
      c.seeds.length,
      c.mean?.mean,
      c.mean?.lo,
      c.mean?.hi,
    ]),
  ]);
}

/** The data behind the per-task view. @param {Configuration[]} chosen */
export function tasksCsv(chosen) {
  const rows = [];
  for (const c of chosen)
    for (const [task, m] of Object.entries(c.tasks)) rows.push([c.name, task, m.n, m.mean, m.sd, m.lo, m.hi]);
  return toCsv([['configuration', 'task', 'seeds', 'acc', 'sd', 'lo', 'hi'], ...rows]);
}
