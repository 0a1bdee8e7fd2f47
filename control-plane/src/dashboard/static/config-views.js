// @ts-check
/**
 * The configuration views (config-charts.js) on a page: a table of configurations with `mean ± half-width (n)` and
 * the paired difference to the reference, the four charts, a share-mode picker for the heat map, configuration
 * checkboxes for the per-task view, and SVG / PNG / CSV export of every view. Used by a sweep's page and by the
 * comparison page; everything is built from one ConfigurationResults document.
 */
import * as echarts from './echarts.esm.min.mjs';
import { h, replace } from './dom.js';
import {
  fmtDifference,
  fmtInterval,
  heatCsv,
  heatOption,
  isPlottedConfig,
  paramsCsv,
  paramsOption,
  ratioCsv,
  ratioOption,
  shareModes,
  tasksCsv,
  tasksOption,
} from './config-charts.js';
import { fmtCount } from './format.js';

/** @typedef {import('./config-charts.js').ConfigurationResults} ConfigurationResults */
/** @typedef {import('./config-charts.js').Configuration} Configuration */

/**
 * Starts a download of `blob` as `name` (built in the page; nothing is fetched).
 * @param {Blob} blob
 * @param {string} name
 */
function download(blob, name) {
  const href = URL.createObjectURL(blob);
  const a = h('a', { href, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

/** @param {string} text @param {string} type */
const textBlob = (text, type) => new Blob([text], { type });

/** @param {string} text */
const dataUrl = (text, type = 'text/plain') => `data:${type};charset=utf-8,${encodeURIComponent(text)}`;

/**
 * The chart as a PNG: its SVG drawn onto a canvas at twice the size.
 * @param {any} chart
 * @returns {Promise<Blob>}
 */
export function chartPng(chart) {
  const svg = chart.renderToSVGString();
  const w = chart.getWidth();
  const ht = chart.getHeight();
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const canvas = h('canvas', { width: w * 2, height: ht * 2 });
      const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the chart could not be drawn as a PNG'))), 'image/png');
    };
    img.onerror = () => reject(new Error('the chart could not be drawn as an image'));
    img.src = dataUrl(svg, 'image/svg+xml');
  });
}

/**
 * A card with a chart, its controls and its export buttons.
 * @param {{ id: string, title: string, hint: string, controls?: HTMLElement | null, file: string, csv: () => string }}
 * o
 */
function chartCard(o) {
  const el = h('div', { id: `${o.id}-chart`, class: 'chart chart-small', role: 'img', 'aria-label': o.title });
  const chart = echarts.init(el, null, { renderer: 'svg' });
  new ResizeObserver(() => chart.resize()).observe(el);
  const exports = h(
    'div',
    { class: 'actions' },
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-quiet',
        dataset: { export: 'svg' },
        onclick: () => download(textBlob(chart.renderToSVGString(), 'image/svg+xml'), `${o.file}.svg`),
      },
      'SVG',
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-quiet',
        dataset: { export: 'png' },
        onclick: () => chartPng(chart).then((b) => download(b, `${o.file}.png`)),
      },
      'PNG',
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-quiet',
        dataset: { export: 'csv' },
        onclick: () => download(textBlob(o.csv(), 'text/csv'), `${o.file}.csv`),
      },
      'CSV',
    ),
  );
  const card = h(
    'section',
    { class: 'card', id: o.id },
    h('div', { class: 'card-head' }, h('h2', null, o.title), exports),
    h('p', { class: 'hint' }, o.hint),
    o.controls ?? null,
    el,
  );
  return { card, chart };
}

/** @param {ConfigurationResults} r */
function configTable(r) {
  const pct = `${Math.round(r.confidence * 100)} %`;
  return h(
    'table',
    { class: 'sweeps configs', id: 'config-table' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        [
          'configuration',
          'seeds',
          'trainable',
          `mean acc ± ${pct} CI (n)`,
          r.reference ? `vs ${r.reference} [${pct} CI]` : 'vs reference',
          'front',
        ].map((c, i) => h('th', { scope: 'col', class: i > 0 && i < 5 ? 'num' : undefined }, c)),
      ),
    ),
    h(
      'tbody',
      null,
      r.configurations.map((c) =>
        h(
          'tr',
          { dataset: { configKey: c.configKey } },
          h('td', null, c.name),
          h('td', { class: 'num' }, `${c.seeds.length}/${c.planned}`),
          h('td', { class: 'num' }, fmtCount(c.trainable)),
          h('td', { class: 'num', dataset: { cell: 'mean' } }, fmtInterval(c.mean)),
          h(
            'td',
            { class: 'num', dataset: { cell: 'diff' } },
            c.name === r.reference ? 'reference' : fmtDifference(c.vsReference?.mean),
          ),
          h(
            'td',
            { dataset: { cell: 'front' } },
            c.onFront ? (c.frontNoise?.withinNoise ? 'yes, within noise' : 'yes') : '',
          ),
        ),
      ),
    ),
  );
}

/**
 * Draws every configuration view into `root` (replacing what is there).
 * @param {HTMLElement} root
 * @param {ConfigurationResults} r
 * @param {{ file: string }} o  file name stem for exports
 */
export function renderConfigurationViews(root, r, o) {
  const n = r.configurations.filter((c) => c.mean).length;
  const charts = /** @type {Record<string, any>} */ ({});

  const params = chartCard({
    id: 'view-params',
    title: 'Parameters vs accuracy, per configuration',
    hint: 'One point per configuration (its seeds averaged) with its interval over seeds. The red line is the Pareto front of the means; a dashed ring marks a front point whose gain over the best cheaper configuration is within the noise.',
    file: `${o.file}-params`,
    csv: () => paramsCsv(r),
  });
  charts.params = params.chart;

  const ratio = chartCard({
    id: 'view-ratio',
    title: 'Accuracy vs sharing ratio ρ',
    hint: 'One line per share mode through the best configuration at each ρ; the band is its interval over seeds.',
    file: `${o.file}-sharing-ratio`,
    csv: () => ratioCsv(r),
  });
  charts.ratio = ratio.chart;

  const modes = shareModes(r);
  let mode = modes[0] ?? 'slice';
  const modePick = h(
    'select',
    {
      id: 'heat-mode',
      'aria-label': 'share mode',
      onchange: (/** @type {Event} */ e) => drawHeat(/** @type {HTMLSelectElement} */ (e.target).value),
    },
    modes.map((m) => h('option', { value: m }, m)),
  );
  const heat = chartCard({
    id: 'view-heat',
    title: 'ρ × φ heat map',
    hint: 'Mean accuracy (± interval, seeds) of the best configuration in each cell, for one share mode.',
    controls: h('label', { class: 'control' }, 'share mode ', modePick),
    file: `${o.file}-rho-phi`,
    csv: () => heatCsv(r, mode),
  });
  charts.heat = heat.chart;
  /** @param {string} m */
  function drawHeat(m) {
    mode = m;
    heat.chart.setOption({ ...heatOption(r, m), tooltip }, { notMerge: true });
  }

  const withMean = r.configurations.filter(isPlottedConfig);
  const initial = new Set(withMean.filter((c) => c.onFront || c.name === r.reference).map((c) => c.configKey));
  /** @type {Configuration[]} */
  let chosen = withMean.filter((c) => initial.has(c.configKey));
  const picks = h(
    'div',
    { class: 'picks', id: 'task-picks' },
    withMean.map((c) =>
      h(
        'label',
        { class: 'pick' },
        h('input', {
          type: 'checkbox',
          value: c.configKey,
          checked: initial.has(c.configKey),
          onchange: () => drawTasks(),
        }),
        ` ${c.name}`,
      ),
    ),
  );
  const legend = h('ol', { class: 'pick-legend', id: 'task-legend' });
  const tasks = chartCard({
    id: 'view-tasks',
    title: 'Accuracy per task',
    hint: 'The selected configurations (#1, #2, … as listed under the chart), one colour per eval task, with intervals over seeds.',
    controls: picks,
    file: `${o.file}-tasks`,
    csv: () => tasksCsv(chosen),
  });
  tasks.card.appendChild(legend);
  charts.tasks = tasks.chart;
  function drawTasks() {
    const keys = new Set(
      [...picks.querySelectorAll('input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value),
    );
    chosen = withMean.filter((c) => keys.has(c.configKey));
    tasks.chart.setOption(tasksOption(chosen), { notMerge: true });
    replace(
      legend,
      chosen.map((c) => h('li', null, c.name)),
    );
  }

  replace(
    root,
    h(
      'section',
      { class: 'card', id: 'config-summary' },
      h(
        'div',
        { class: 'card-head' },
        h('h2', null, 'Configurations over seeds'),
        h(
          'p',
          { class: 'hint' },
          `${n} configuration${n === 1 ? '' : 's'} with results; reference ${r.reference ?? 'none'}`,
        ),
      ),
      h('div', { class: 'table-wrap' }, configTable(r)),
    ),
    params.card,
    ratio.card,
    heat.card,
    tasks.card,
  );
  // Hover cards built as DOM nodes (names stay text): the configuration, its seeds and intervals.
  const byKey = new Map(r.configurations.map((c) => [c.configKey, c]));
  const tooltip = {
    trigger: 'item',
    formatter: (/** @type {any} */ p) => {
      const c = byKey.get(p?.data?.configKey);
      if (!c) return '';
      return h(
        'div',
        { class: 'tip' },
        h('strong', null, c.name),
        h('div', null, `${fmtCount(c.trainable)} params · seeds ${c.seeds.join(', ')}`),
        h('div', null, `mean acc ${fmtInterval(c.mean)}`),
        c.vsReference ? h('div', null, `vs ${c.vsReference.versus} ${fmtDifference(c.vsReference.mean)}`) : null,
        c.frontNoise
          ? h(
              'div',
              null,
              `front: ${c.frontNoise.withinNoise ? 'within noise of' : 'beyond noise of'} ${c.frontNoise.versus}`,
            )
          : null,
      );
    },
  };
  params.chart.setOption({ ...paramsOption(r), tooltip });
  ratio.chart.setOption({ ...ratioOption(r), tooltip });
  drawHeat(mode);
  drawTasks();
  // For tests and the console.
  /** @type {any} */ (window).bsloraConfigViews = { charts, results: r, chosen: () => chosen, mode: () => mode };
  return charts;
}
