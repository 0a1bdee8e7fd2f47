// @ts-check
/** The front page: every sweep, newest first, refreshed every 5 s while the tab is visible. */
import { listSweeps } from './api.js';
import { h, replace } from './dom.js';
import { fmtTime, UNFINISHED } from './format.js';

/** @typedef {import('./api.js').SweepListItem} SweepListItem */

const REFRESH_MS = 5000;

/** @param {SweepListItem} s */
function trialsCell(s) {
  const t = s.trials;
  if (!t) return '—';
  const extra = [t.running ? `${t.running} running` : '', t.failed ? `${t.failed} failed` : '']
    .filter(Boolean)
    .join(', ');
  return `${t.completed} / ${t.total}${extra ? ` (${extra})` : ''}`;
}

/**
 * @param {HTMLElement} root
 * @param {(mode: string) => void} setLive
 */
export async function renderSweepList(root, setLive) {
  document.title = 'Sweeps · BSLoRA';
  const count = h('p', { class: 'muted', id: 'sweep-count' });
  const body = h('div', { class: 'table-wrap' });
  replace(
    root,
    h(
      'section',
      { class: 'card' },
      h(
        'div',
        { class: 'card-head' },
        h('h1', null, 'Sweeps'),
        count,
        h('a', { class: 'btn btn-quiet', id: 'compare-link', href: '/compare' }, 'Compare sweeps'),
      ),
      body,
    ),
  );

  /** @param {SweepListItem[]} sweeps @param {number} total */
  const draw = (sweeps, total) => {
    count.textContent =
      total > sweeps.length
        ? `the newest ${sweeps.length} of ${total} sweeps`
        : total === 1
          ? '1 sweep'
          : `${total} sweeps`;
    if (sweeps.length === 0) {
      replace(
        body,
        h(
          'div',
          { class: 'empty' },
          h('p', null, 'No sweeps yet. Submit one and it shows up here:'),
          h('pre', null, h('code', null, 'npx bslora sweep submit jobs/quickstart.yaml')),
        ),
      );
      return;
    }
    replace(
      body,
      h(
        'table',
        { class: 'sweeps', id: 'sweep-table' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['sweep', 'status', 'trials done', 'created', 'finished', 'id'].map((c) =>
              h('th', { scope: 'col', class: c === 'trials done' ? 'num' : undefined }, c),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          sweeps.map((s) =>
            h(
              'tr',
              { dataset: { sweepId: s.id } },
              h('td', null, h('a', { href: `/sweeps/${encodeURIComponent(s.id)}`, class: 'sweep-link' }, s.name)),
              h('td', null, h('span', { class: `badge badge-${s.status}` }, s.status.replace(/_/g, ' '))),
              h('td', { class: 'num' }, trialsCell(s)),
              h('td', null, fmtTime(s.createdAt)),
              h('td', null, fmtTime(s.finishedAt)),
              h('td', null, h('code', { class: 'id' }, s.id)),
            ),
          ),
        ),
      ),
    );
  };

  const refresh = async () => {
    try {
      const { sweeps, total } = await listSweeps();
      draw(sweeps, total);
      setLive(sweeps.some((s) => UNFINISHED.has(s.status)) ? 'polling' : 'idle');
    } catch (err) {
      setLive('offline');
      if (!body.firstChild) replace(body, h('p', { class: 'error' }, /** @type {Error} */ (err).message));
    }
  };
  await refresh();
  setInterval(() => {
    if (document.visibilityState === 'visible') void refresh();
  }, REFRESH_MS);
}
