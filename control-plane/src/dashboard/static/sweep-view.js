// @ts-check
/**
 * One sweep: its header and CSV export, summary cards, the parameter/accuracy chart, and the trial table, kept live.
 */
import { ApiError, applyEvent, followSweep, loadSweep, loadTrialDetail } from './api.js';
import { chartOption, createChart, isPlotted, locatePoints, trialTooltip } from './chart.js';
import { h, replace } from './dom.js';
import { fmtAcc, fmtCount, fmtShare, fmtTime, groupStyle, UNFINISHED } from './format.js';
import { summarizeTrials } from './sweep-summary.js';
import { createTrialTable } from './table.js';
import { withXMeasure, X_MEASURES, xMeasureLabel } from './x-measure.js';
import { mountSweepConfigurations } from './sweep-configurations.js';
import { mountSweepSearch } from './sweep-search.js';

/** @typedef {import('./api.js').SweepData} SweepData */
/** @typedef {import('./format.js').Trial} Trial */
/** @typedef {import('./format.js').TrialDetail} TrialDetail */

/** Failed trials listed under the table by name and error; the rest are counted. */
const MAX_FAILURES_LISTED = 50;

/**
 * @param {string} label
 * @param {string} value
 * @param {string} [sub]
 * @param {string} [id]
 */
function stat(label, value, sub, id) {
  return h(
    'div',
    { class: 'stat', id },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    sub ? h('div', { class: 'stat-sub' }, sub) : null,
  );
}

/** @param {SweepData} data */
function statCards(data) {
  const total = data.trials.length;
  const running = data.trials.filter((t) => t.status === 'running').length;
  const queued = data.trials.filter((t) => t.status === 'queued').length;
  const subs = [running ? `${running} running` : '', queued ? `${queued} queued` : '', `${data.failed} failed`].filter(
    Boolean,
  );
  const baseline = data.trials.find((t) => t.name === data.loraBaseline) ?? null;
  /** @type {Trial | null} */
  let best = null;
  for (const t of data.trials) {
    if (
      t.method !== 'base' &&
      t.method !== 'lora' &&
      isPlotted(t) &&
      (best === null || /** @type {number} */ (t.meanAcc) > /** @type {number} */ (best.meanAcc))
    )
      best = t;
  }
  const front = data.trials
    .filter((t) => t.onFront)
    .sort((a, b) => /** @type {number} */ (a.trainable) - /** @type {number} */ (b.trainable));
  return [
    stat('trials completed', `${data.completed} / ${total}`, subs.join(' · '), 'stat-trials'),
    baseline
      ? stat(
          'LoRA baseline',
          fmtAcc(baseline.meanAcc),
          `${baseline.name} · ${fmtCount(baseline.trainable)} params`,
          'stat-baseline',
        )
      : stat('LoRA baseline', '—', 'no finished LoRA trial', 'stat-baseline'),
    best
      ? stat(
          'best non-LoRA adapter',
          fmtAcc(best.meanAcc),
          `${best.name} · ${fmtCount(best.trainable)} params${best.loraShare !== null ? ` (${fmtShare(best.loraShare)} of LoRA)` : ''}`,
          'stat-best',
        )
      : stat('best non-LoRA adapter', '—', 'none finished yet', 'stat-best'),
    stat(
      'Pareto front',
      `${front.length} trial${front.length === 1 ? '' : 's'}`,
      front.length ? `smallest: ${front[0].name}` : '',
      'stat-front',
    ),
  ];
}

/**
 * @param {HTMLElement} root
 * @param {string} id
 * @param {(mode: string) => void} setLive
 * @param {Promise<SweepData>} [first] - the sweep's table, if its download has started already
 */
export async function renderSweep(root, id, setLive, first) {
  const enc = encodeURIComponent(id);
  /** @type {SweepData} */
  let data;
  try {
    data = await (first ?? loadSweep(id));
  } catch (err) {
    const e = /** @type {ApiError} */ (err);
    document.title = 'Sweep not found · BSLoRA';
    replace(
      root,
      h(
        'section',
        { class: 'card' },
        h('h1', null, e.status === 404 ? 'Sweep not found' : 'Could not load the sweep'),
        h('p', { class: 'error', id: 'load-error' }, e.message),
        h('p', null, h('a', { href: '/' }, '← all sweeps')),
      ),
    );
    return;
  }

  const title = h('h1', { id: 'sweep-name' });
  const status = h('span', { id: 'sweep-status', class: 'badge' });
  const description = h('p', { class: 'description', id: 'sweep-description' });
  const meta = h('p', { class: 'meta muted' });
  const stats = h('section', { class: 'stats', id: 'stats' });
  const checks = h('section', { class: 'card checks', id: 'checks' });
  const chartEl = h('div', {
    id: 'chart',
    class: 'chart',
    role: 'img',
    'aria-label': 'trainable parameters against mean accuracy',
  });
  const legendNote = h('p', { class: 'hint' });
  // What the x axis plots: trainable parameters or a serving footprint measure (x-measure.js)
  let xKey = 'trainable';
  const chartTitle = h('h2', { id: 'chart-title' });
  const xSelect = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'x-measure' },
      X_MEASURES.map((m) => h('option', { value: m.key }, m.label)),
    )
  );
  xSelect.addEventListener('change', () => {
    xKey = xSelect.value;
    draw(data);
  });
  const failures = h('div', { id: 'failures', class: 'failures' });
  const table = createTrialTable({ onHover: (key) => highlight(key) });
  // The server names the file (Content-Disposition); `download` keeps the browser on this page.
  const csv = h(
    'a',
    { class: 'btn', id: 'csv-link', href: `/api/v1/sweeps/${enc}/results?format=csv`, download: true },
    'Download CSV',
  );
  const json = h(
    'a',
    {
      class: 'btn btn-quiet',
      id: 'json-link',
      href: `/api/v1/sweeps/${enc}/results`,
      target: '_blank',
      rel: 'noopener',
    },
    'JSON',
  );

  replace(
    root,
    h(
      'nav',
      { class: 'crumbs' },
      h('a', { href: '/' }, 'All sweeps'),
      h('span', { 'aria-hidden': 'true' }, ' / '),
      h('span', { id: 'crumb-name' }),
    ),
    h(
      'section',
      { class: 'sweep-head' },
      h('div', { class: 'sweep-title' }, h('div', { class: 'title-row' }, title, status), description, meta),
      h('div', { class: 'actions' }, csv, json),
    ),
    stats,
    checks,
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'card-head' }, chartTitle, h('label', { class: 'hint' }, 'x axis ', xSelect), legendNote),
      chartEl,
    ),
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'card-head' },
        h('h2', null, 'Trials'),
        h('p', { class: 'hint' }, 'Click a column header to sort. Hover a row to find its point.'),
      ),
      table.el,
      failures,
    ),
  );

  const chart = createChart(chartEl, data.trials.length);
  /** @type {Map<string, { seriesId: string, dataIndex: number }>} */
  let located = new Map();
  let renders = 0;
  /** Plans and whole results, loaded when a trial is hovered; forgotten when its row changes. */
  /** @type {Map<string, Promise<TrialDetail>>} */
  const details = new Map();
  /** @type {Map<string, TrialDetail>} */
  const loaded = new Map();
  /** @param {string} key */
  const forget = (key) => {
    details.delete(key);
    loaded.delete(key);
  };

  /** The hover card at once, completed in place when the trial's plan has loaded. @param {Trial} t */
  const tooltip = (t) => {
    const ready = loaded.get(t.trialKey) ?? null;
    const card = trialTooltip(t, data, ready);
    if (ready) return card;
    let pending = details.get(t.trialKey);
    if (!pending) {
      pending = loadTrialDetail(id, t.trialKey);
      details.set(t.trialKey, pending);
      pending.then(
        (d) => details.get(t.trialKey) === pending && loaded.set(t.trialKey, d),
        () => details.delete(t.trialKey),
      );
    }
    pending.then((d) => card.replaceWith(trialTooltip(t, data, d))).catch(() => {});
    return card;
  };

  /** @param {string | null} key */
  function highlight(key) {
    chart.dispatchAction({ type: 'downplay' });
    if (!key) {
      chart.dispatchAction({ type: 'hideTip' });
      return;
    }
    const at = located.get(key);
    if (!at) return;
    chart.dispatchAction({ type: 'highlight', seriesId: at.seriesId, dataIndex: at.dataIndex });
    chart.dispatchAction({ type: 'showTip', seriesId: at.seriesId, dataIndex: at.dataIndex });
  }

  /** @param {SweepData} d */
  const draw = (d) => {
    data = d;
    Object.assign(d, summarizeTrials(d.trials));
    const s = d.sweep;
    document.title = `${s.name} · BSLoRA`;
    title.textContent = s.name;
    /** @type {HTMLElement} */ (document.getElementById('crumb-name')).textContent = s.name;
    status.className = `badge badge-${s.status}`;
    status.textContent = s.status.replace(/_/g, ' ');
    description.textContent = s.description ?? '';
    description.hidden = !s.description;
    replace(
      meta,
      h('code', { class: 'id' }, s.id),
      ` · created ${fmtTime(s.createdAt)}`,
      s.finishedAt ? ` · finished ${fmtTime(s.finishedAt)}` : '',
    );
    replace(stats, statCards(d));
    checks.hidden = d.expect.length === 0;
    if (d.expect.length) {
      const passed = d.expect.filter((v) => v.passed).length;
      const provisional = UNFINISHED.has(s.status) ? ' (so far: the sweep is still running)' : '';
      replace(
        checks,
        h(
          'div',
          { class: 'card-head' },
          h('h2', null, 'Expect rules'),
          h('p', { class: 'hint' }, `${passed} of ${d.expect.length} passed${provisional}`),
        ),
        h(
          'ul',
          { class: 'verdicts' },
          d.expect.map((v) =>
            h(
              'li',
              { class: v.passed ? 'verdict-pass' : 'verdict-fail' },
              h('span', { class: `badge badge-${v.passed ? 'completed' : 'failed'}` }, v.passed ? 'passed' : 'failed'),
              h('strong', null, v.name),
              h('span', { class: 'muted' }, v.message),
            ),
          ),
        ),
      );
    }
    const xName = xMeasureLabel(xKey);
    chartTitle.textContent = `${xName[0].toUpperCase()}${xName.slice(1)} vs mean accuracy`;
    chartEl.setAttribute('aria-label', `${xName} against mean accuracy`);
    const { trialKeysOf, ...option } = chartOption(withXMeasure(d, xKey), { tooltip, xName });
    located = locatePoints({ ...option, trialKeysOf });
    chart.setOption(option, { replaceMerge: ['series'] });
    const unplotted = d.trials.filter((t) => t.method !== 'base' && !isPlotted(t)).length;
    legendNote.textContent = [
      `${groupStyle('lora').label}: diamonds, with dashed lines at the baseline's accuracy and size.`,
      'The red line and rings mark the Pareto front.',
      unplotted ? `${unplotted} trial${unplotted === 1 ? '' : 's'} without a result yet.` : '',
    ]
      .filter(Boolean)
      .join(' ');
    table.update(d);
    const failed = d.trials.filter((t) => t.status === 'failed');
    const listed = failed.slice(0, MAX_FAILURES_LISTED);
    replace(
      failures,
      failed.length
        ? [
            h('h3', null, failed.length === 1 ? '1 failed trial' : `${failed.length} failed trials`),
            h(
              'ul',
              null,
              listed.map((t) =>
                h('li', null, h('strong', null, t.name), ': ', t.lastError ?? 'no error message recorded'),
              ),
            ),
            failed.length > listed.length
              ? h('p', { class: 'muted' }, `and ${failed.length - listed.length} more (sort the table by status)`)
              : null,
          ]
        : [],
    );
    renders += 1;
  };

  draw(data);
  const configurations = mountSweepConfigurations(root, id);
  const search = mountSweepSearch(root, id);
  // A search moves to its next rung when its trainings start again, and ends with its final trials: refresh the
  // search card on those, at most every two seconds.
  /** @type {ReturnType<typeof setTimeout> | null} */
  let searchRefresh = null;
  const refreshSearch = () => {
    if (!searchRefresh)
      searchRefresh = setTimeout(() => {
        searchRefresh = null;
        void search.refresh();
      }, 2000);
  };

  // For tests and debugging in the console: the chart instance and the data on screen.
  /** @type {any} */ (window).bsloraDashboard = {
    chart,
    data: () => data,
    locate: (/** @type {string} */ key) => located.get(key) ?? null,
    renders: () => renders,
  };

  // Live events change the picture at once; redrawing it (chart, table, cards) waits for a quiet moment, at most
  // a few times a second, so that a burst of thousands of events costs a few redraws.
  /** @type {ReturnType<typeof setTimeout> | null} */
  let redraw = null;
  let lastDrawMs = 0;
  const drawNow = () => {
    if (redraw) clearTimeout(redraw);
    redraw = null;
    const t = performance.now();
    draw(data);
    lastDrawMs = performance.now() - t;
  };
  const scheduleDraw = () => {
    if (!redraw) redraw = setTimeout(drawNow, Math.max(100, 4 * lastDrawMs));
  };

  if (UNFINISHED.has(data.sweep.status)) {
    followSweep(id, data.eventId, {
      onEvent: (name, payload) => {
        if (name === 'trial-finished' && typeof payload?.trialKey === 'string') forget(payload.trialKey);
        if (name === 'trial-running' || name === 'trial-finished') refreshSearch();
        if (applyEvent(data, name, payload)) scheduleDraw();
        // The last event: the final picture is drawn now, before the page says the sweep has finished.
        if (name === 'end') {
          drawNow();
          void configurations.refresh();
          void search.refresh();
        }
        // A sweep that ended with trials still queued or running on the page was cancelled: its trials' new status
        // comes with no event of its own, so the table is loaded once more.
        if (
          name === 'end' &&
          !UNFINISHED.has(data.sweep.status) &&
          data.trials.some((t) => UNFINISHED.has(t.status))
        ) {
          loadSweep(id).then(draw, () => {});
        }
      },
      reload: async () => {
        const d = await loadSweep(id);
        details.clear();
        loaded.clear();
        draw(d);
        if (!UNFINISHED.has(d.sweep.status)) void configurations.refresh();
        return d;
      },
      onMode: setLive,
    });
  } else {
    setLive('finished');
  }
}
