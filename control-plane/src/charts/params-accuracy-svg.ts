/**
 * The parameters-against-accuracy picture of a sweep as a standalone SVG file, drawn on the server by Apache
 * ECharts' SSR renderer (no browser, no DOM): trainable parameters on a log axis against mean accuracy, one series
 * per method and share mode, the untuned base model and the LoRA baseline as reference lines, the Pareto front as a
 * line. The dashboard draws the same picture interactively; this one is for a file next to the results.
 */
import * as echarts from 'echarts';

/** The part of a results document (`GET /api/v1/sweeps/{id}/results`) the chart reads. */
export interface ChartResults {
  sweepId: string;
  loraBaseline: string | null;
  trials: {
    name: string;
    method: string;
    trainable: number | null;
    meanAcc: number | null;
    onFront: boolean;
    config: {
      rank: number | null;
      ranks: { local: number; intra: number; inter: number } | null;
      shareMode: string | null;
    } | null;
  }[];
}

const GROUPS: Record<string, { label: string; color: string; symbol: string; size: number }> = {
  lora: { label: 'LoRA (baseline)', color: '#0f172a', symbol: 'diamond', size: 17 },
  'bslora-slice': { label: 'BSLoRA slice', color: '#2563eb', symbol: 'circle', size: 12 },
  'bslora-gate': { label: 'BSLoRA gate', color: '#059669', symbol: 'rect', size: 11 },
  'bslora-kron': { label: 'BSLoRA kron', color: '#d97706', symbol: 'triangle', size: 13 },
  vera: { label: 'VeRA', color: '#9333ea', symbol: 'emptyCircle', size: 12 },
};
const BASE_COLOR = '#64748b';
const FRONT_COLOR = '#dc2626';
const FONT = "system-ui, 'Segoe UI', Roboto, 'Noto Sans', 'Liberation Sans', Arial, sans-serif";

type Trial = ChartResults['trials'][number];

const groupOf = (t: Trial) => (t.method === 'bslora' ? `bslora-${t.config?.shareMode ?? 'slice'}` : t.method);
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const count = (n: number) =>
  n >= 1e6 ? `${+(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : String(n);

/** A short label made of numbers and fixed words only (no user strings in the picture). */
function pointLabel(t: Trial): string {
  if (t.method === 'bslora' && t.config?.ranks)
    return `${t.config.ranks.local}/${t.config.ranks.intra}/${t.config.ranks.inter}`;
  if (t.config?.rank != null) return `r${t.config.rank}`;
  return '';
}

const isPlotted = (t: Trial) =>
  t.method !== 'base' && t.trainable !== null && t.trainable > 0 && t.meanAcc !== null && Number.isFinite(t.meanAcc);

/** The chart as an SVG document (UTF-8 text). */
export function paramsAccuracySvg(
  results: ChartResults,
  opts: { width?: number; height?: number; title?: string } = {},
): string {
  const plotted = results.trials.filter(isPlotted);
  const bases = results.trials.filter((t) => t.method === 'base' && t.meanAcc !== null && Number.isFinite(t.meanAcc));
  const baseAcc = bases.length ? bases.reduce((s, t) => s + t.meanAcc!, 0) / bases.length : null;
  const baseline = plotted.find((t) => t.name === results.loraBaseline) ?? null;
  const groups = [...new Set(plotted.map(groupOf))].sort(
    (a, b) => Object.keys(GROUPS).indexOf(a) - Object.keys(GROUPS).indexOf(b),
  );

  const series: Record<string, unknown>[] = groups.map((group) => {
    const style = GROUPS[group] ?? { label: group, color: '#0891b2', symbol: 'circle', size: 12 };
    return {
      name: style.label,
      type: 'scatter',
      symbol: style.symbol,
      symbolSize: style.size,
      itemStyle: { color: style.color, borderColor: '#ffffff', borderWidth: 1.2 },
      label: {
        show: true,
        position: 'right',
        distance: 6,
        color: style.color,
        fontSize: 11,
        formatter: (p: { data: { label: string } }) => p.data.label,
      },
      data: plotted
        .filter((t) => groupOf(t) === group)
        .map((t) => ({ value: [t.trainable, t.meanAcc], label: pointLabel(t) })),
      ...(group === 'lora' && baseline
        ? {
            markLine: {
              silent: true,
              symbol: 'none',
              lineStyle: { color: style.color, type: 'dashed', width: 1.2, opacity: 0.55 },
              label: { color: style.color, fontSize: 11 },
              data: [
                {
                  yAxis: baseline.meanAcc,
                  label: { formatter: `LoRA accuracy ${pct(baseline.meanAcc!)}`, position: 'insideEndTop' },
                },
              ],
            },
          }
        : {}),
    };
  });
  const front = plotted.filter((t) => t.onFront).sort((a, b) => a.trainable! - b.trainable!);
  if (front.length) {
    series.push({
      name: 'Pareto front',
      type: 'line',
      z: 1,
      symbol: 'emptyCircle',
      symbolSize: 21,
      lineStyle: { color: FRONT_COLOR, width: 2, opacity: 0.8 },
      itemStyle: { color: FRONT_COLOR },
      data: front.map((t) => [t.trainable, t.meanAcc]),
    });
  }
  if (baseAcc !== null) {
    series.push({
      name: 'base model (untuned)',
      type: 'line',
      symbol: 'none',
      itemStyle: { color: BASE_COLOR },
      lineStyle: { color: BASE_COLOR, type: 'dotted' },
      data: [],
      markLine: {
        silent: true,
        symbol: 'none',
        lineStyle: { color: BASE_COLOR, type: 'dotted', width: 1.5 },
        label: {
          formatter: `base model ${pct(baseAcc)}`,
          position: 'insideStartTop',
          color: BASE_COLOR,
          fontSize: 11,
        },
        data: [{ yAxis: baseAcc }],
      },
    });
  }

  const xs = plotted.map((t) => t.trainable!);
  const ys = [...plotted.map((t) => t.meanAcc!), ...(baseAcc === null ? [] : [baseAcc])];
  const xMin = xs.length ? 10 ** Math.floor(Math.log10(Math.min(...xs)) - 0.02) : 1e3;
  const xMax = Math.max(xMin * 10, xs.length ? 10 ** Math.ceil(Math.log10(Math.max(...xs)) + 0.02) : 1e6);
  const lo = ys.length ? Math.max(0, Math.min(...ys) - 0.02) : 0;
  const hi = ys.length ? Math.min(1, Math.max(...ys) + 0.02) : 1;
  const yStep = hi - lo > 0.3 ? 0.1 : 0.05;
  const yMin = Math.floor(lo / yStep) * yStep;
  const yMax = Math.max(yMin + yStep, Math.ceil(hi / yStep) * yStep);

  const width = opts.width ?? 900;
  const height = opts.height ?? 520;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      textStyle: { fontFamily: FONT },
      title: {
        text: opts.title ?? `trainable parameters against mean accuracy (${results.sweepId})`,
        left: 'center',
        top: 6,
        textStyle: { fontSize: 14, color: '#0f172a' },
      },
      legend: {
        top: 32,
        left: 'center',
        textStyle: { color: '#334155', fontSize: 12 },
        data: series.map((s) => s.name as string),
      },
      grid: { left: 72, right: 60, top: 80, bottom: 58 },
      xAxis: {
        type: 'log',
        min: xMin,
        max: xMax,
        name: 'trainable parameters (log)',
        nameLocation: 'middle',
        nameGap: 34,
        axisLabel: { formatter: (v: number) => count(v) },
        splitLine: { show: true, lineStyle: { color: '#e2e8f0' } },
      },
      yAxis: {
        type: 'value',
        min: yMin,
        max: yMax,
        interval: yStep,
        name: 'mean accuracy',
        nameLocation: 'middle',
        nameGap: 50,
        axisLabel: { formatter: (v: number) => `${Math.round(v * 1000) / 10}%` },
        splitLine: { lineStyle: { color: '#e2e8f0' } },
      },
      series,
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
