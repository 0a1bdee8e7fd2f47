// @ts-check
/**
 * The per-trial table: one row per trial, a column per eval task, sortable by clicking any header, in pages of
 * PAGE_SIZE rows (the DOM holds one page, however large the sweep).
 */
import { h, replace } from './dom.js';
import {
  fmtAcc,
  fmtCount,
  fmtDelta,
  fmtInt,
  fmtLoss,
  fmtShare,
  groupStyle,
  progressLabel,
  ranksLabel,
  shareLabel,
  taskLabel,
} from './format.js';
import { TRIAL_STATUSES } from './statuses.js';

/** @typedef {import('./format.js').Trial} Trial */
/** @typedef {import('./api.js').SweepData} SweepData */

/**
 * @typedef {{ id: string, label: string, title?: string, numeric?: boolean,
 *   value: (t: Trial) => number | string | null, cell: (t: Trial) => Node | string }} Column
 */

/** Sort order of the status column: running trials first, then the others in their life's order. */
const STATUS_ORDER = ['running', ...TRIAL_STATUSES.filter((s) => s !== 'running')];
export const PAGE_SIZE = 100;

/** @param {SweepData} data @returns {Column[]} */
function columns(data) {
  /** @param {number | null} v */
  const num = (v) => (v === null || v === undefined || !Number.isFinite(v) ? null : v);
  /** @type {Column[]} */
  const cols = [
    {
      id: 'front',
      label: 'front',
      title: 'on the Pareto front of trainable parameters against mean accuracy',
      value: (t) => (t.onFront ? 1 : 0),
      cell: (t) => (t.onFront ? h('span', { class: 'front-mark', title: 'on the Pareto front' }, '★') : ''),
    },
    {
      id: 'name',
      label: 'trial',
      value: (t) => t.name,
      cell: (t) =>
        h(
          'span',
          { class: 'trial-name' },
          h('span', { class: 'swatch', style: { background: groupStyle(t.group).color } }),
          h('span', null, t.name),
          t.name === data.loraBaseline
            ? h(
                'span',
                { class: 'chip chip-baseline', title: 'the LoRA baseline the shares and deltas refer to' },
                'baseline',
              )
            : null,
          t.reused
            ? h(
                'span',
                { class: 'chip', title: 'result reused from an earlier sweep with the same trial key' },
                'reused',
              )
            : null,
        ),
    },
    { id: 'group', label: 'method', title: 'method and share mode', value: (t) => t.group, cell: (t) => t.group },
    {
      id: 'ranks',
      label: 'ranks',
      title: 'BSLoRA local/intra/inter ranks, or the LoRA / VeRA rank',
      value: (t) =>
        t.config.ranks ? t.config.ranks.local + t.config.ranks.intra + t.config.ranks.inter : (t.config.rank ?? null),
      cell: (t) => ranksLabel(t.config),
      numeric: true,
    },
    {
      id: 'share',
      label: 'share',
      title: 'share mode and share size',
      value: (t) => shareLabel(t.config),
      cell: (t) => shareLabel(t.config),
    },
    {
      id: 'scale',
      label: 'scale',
      title: 'the adapter scale s (ΔW = s · B A) the trial trains at (adapter.scaling)',
      numeric: true,
      value: (t) => num(t.scale),
      cell: (t) => (t.scale === null ? '' : String(Number(t.scale.toPrecision(3)))),
    },
    {
      id: 'trainable',
      label: 'trainable',
      title: 'trainable parameters',
      numeric: true,
      value: (t) => num(t.trainable),
      cell: (t) => h('span', { title: fmtInt(t.trainable) }, fmtCount(t.trainable)),
    },
    {
      id: 'loraShare',
      label: '% of LoRA',
      title: data.loraBaseline
        ? `trainable parameters as a share of ${data.loraBaseline}`
        : 'no LoRA baseline in this sweep',
      numeric: true,
      value: (t) => num(t.loraShare),
      cell: (t) => fmtShare(t.loraShare),
    },
    {
      id: 'meanAcc',
      label: 'mean acc',
      title: 'mean accuracy over the eval tasks',
      numeric: true,
      value: (t) => num(t.meanAcc),
      cell: (t) => fmtAcc(t.meanAcc),
    },
    {
      id: 'accDelta',
      label: 'Δ LoRA',
      title: data.loraBaseline
        ? `mean accuracy minus ${data.loraBaseline}'s, in points`
        : 'no LoRA baseline in this sweep',
      numeric: true,
      value: (t) => num(t.accDelta),
      cell: (t) => {
        const d = t.accDelta;
        return h('span', { class: d === null ? '' : d > 0 ? 'pos' : d < 0 ? 'neg' : '' }, fmtDelta(d));
      },
    },
  ];
  data.tasks.forEach((task, i) =>
    cols.push({
      id: `task:${i}`,
      label: taskLabel(task),
      title: `accuracy on ${task}`,
      numeric: true,
      value: (t) => num(t.accuracy[task] ?? null),
      cell: (t) => fmtAcc(t.accuracy[task] ?? null),
    }),
  );
  cols.push(
    {
      id: 'finalLoss',
      label: 'final loss',
      numeric: true,
      value: (t) => num(t.finalLoss),
      cell: (t) => fmtLoss(t.finalLoss),
    },
    {
      id: 'status',
      label: 'status',
      value: (t) => STATUS_ORDER.indexOf(t.status),
      cell: (t) => {
        const p = t.status === 'running' ? t.progress : null;
        const frac = p?.step !== undefined && p?.totalSteps ? Math.min(1, p.step / p.totalSteps) : null;
        return h(
          'span',
          { class: 'status-cell' },
          h('span', { class: `badge badge-${t.status}`, title: t.lastError ?? undefined }, t.status),
          p ? h('span', { class: 'progress-text' }, progressLabel(p)) : null,
          frac !== null
            ? h(
                'span',
                { class: 'bar' },
                h('span', { class: 'bar-fill', style: { width: `${(frac * 100).toFixed(1)}%` } }),
              )
            : null,
        );
      },
    },
  );
  return cols;
}

/**
 * @param {{ onHover?: (trialKey: string | null) => void }} [hooks]
 */
export function createTrialTable(hooks = {}) {
  const table = h('table', { class: 'trials', id: 'trial-table' });
  const thead = h('thead');
  const tbody = h('tbody');
  table.append(thead, tbody);
  let page = 0;
  const pageInfo = h('span', { class: 'pager-info', id: 'table-page' });
  const prev = h(
    'button',
    { type: 'button', class: 'btn btn-quiet', id: 'table-prev', onclick: () => turn(-1) },
    '‹ previous',
  );
  const next = h(
    'button',
    { type: 'button', class: 'btn btn-quiet', id: 'table-next', onclick: () => turn(1) },
    'next ›',
  );
  const pager = h('div', { class: 'pager', id: 'table-pager' }, prev, pageInfo, next);
  const el = h('div', { class: 'trial-table' }, h('div', { class: 'table-wrap' }, table), pager);
  /** @type {{ col: string | null, dir: 1 | -1 }} */
  const sort = { col: null, dir: 1 };
  /** @type {SweepData | null} */
  let current = null;
  /** @type {Column[]} */
  let cols = [];
  let headerKey = '';

  const renderHeader = () => {
    replace(
      thead,
      h(
        'tr',
        null,
        cols.map((c) =>
          h(
            'th',
            {
              class: c.numeric ? 'num' : '',
              scope: 'col',
              'aria-sort': sort.col === c.id ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none',
              dataset: { col: c.id },
              title: c.title,
            },
            h(
              'button',
              { type: 'button', class: 'sort', onclick: () => setSort(c.id) },
              c.label,
              h(
                'span',
                { class: 'sort-arrow', 'aria-hidden': 'true' },
                sort.col === c.id ? (sort.dir === 1 ? '▲' : '▼') : '',
              ),
            ),
          ),
        ),
      ),
    );
  };

  const renderBody = () => {
    if (!current) return;
    const rows = [...current.trials];
    const col = cols.find((c) => c.id === sort.col);
    if (col) {
      rows.sort((a, b) => {
        const va = col.value(a);
        const vb = col.value(b);
        // Missing values last in either direction.
        if (va === null || va === '') return vb === null || vb === '' ? 0 : 1;
        if (vb === null || vb === '') return -1;
        const cmp =
          typeof va === 'number' && typeof vb === 'number'
            ? va - vb
            : String(va).localeCompare(String(vb), 'en', { numeric: true });
        return cmp * sort.dir;
      });
    }
    const baseline = current.loraBaseline;
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    const first = page * PAGE_SIZE;
    const shown = rows.slice(first, first + PAGE_SIZE);
    pager.hidden = pages === 1;
    pageInfo.textContent = `rows ${fmtInt(first + 1)}–${fmtInt(first + shown.length)} of ${fmtInt(rows.length)}`;
    /** @type {HTMLButtonElement} */ (prev).disabled = page === 0;
    /** @type {HTMLButtonElement} */ (next).disabled = page >= pages - 1;
    replace(
      tbody,
      shown.map((t) =>
        h(
          'tr',
          {
            dataset: { trialKey: t.trialKey, status: t.status },
            class: [t.onFront ? 'row-front' : '', t.name === baseline ? 'row-baseline' : ''].filter(Boolean).join(' '),
            onmouseenter: () => hooks.onHover?.(t.trialKey),
            onmouseleave: () => hooks.onHover?.(null),
          },
          cols.map((c) => h('td', { class: c.numeric ? 'num' : '', dataset: { col: c.id } }, c.cell(t))),
        ),
      ),
    );
    if (rows.length === 0)
      replace(tbody, h('tr', null, h('td', { colspan: cols.length, class: 'muted' }, 'This sweep has no trials.')));
  };

  /** @param {number} step */
  const turn = (step) => {
    page = Math.max(0, page + step);
    renderBody();
  };

  /** @param {string} id */
  const setSort = (id) => {
    if (sort.col === id) sort.dir = sort.dir === 1 ? -1 : 1;
    else {
      sort.col = id;
      sort.dir = 1;
    }
    page = 0;
    renderHeader();
    renderBody();
  };

  return {
    el,
    /** @param {SweepData} data */
    update(data) {
      current = data;
      cols = columns(data);
      const key = cols.map((c) => `${c.id}:${c.label}:${c.title ?? ''}`).join('|');
      if (key !== headerKey) {
        headerKey = key;
        renderHeader();
      }
      renderBody();
    },
  };
}
