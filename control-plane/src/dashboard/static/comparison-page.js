// @ts-check
/**
 * The comparison page (`/compare?sweeps=a,b`): pick sweeps from the list, and see them combined into one set of
 * configuration-level results (GET /api/v1/comparisons) with the same views as a sweep's page. Sweeps that cannot
 * be compared show the server's reason.
 */
import { getJson, listSweeps } from './api.js';
import { renderConfigurationViews } from './config-views.js';
import { h, replace } from './dom.js';
import { fmtTime } from './format.js';

/**
 * @param {HTMLElement} root
 * @param {string[]} initial  sweep ids from the address
 */
export async function renderComparison(root, initial) {
  document.title = 'Compare sweeps · BSLoRA';
  const selected = new Set(initial);
  const list = h('div', { class: 'table-wrap', id: 'compare-picks' });
  const status = h('p', { class: 'hint', id: 'compare-status' });
  const views = h('div', { id: 'config-views' });
  const button = h(
    'button',
    { type: 'button', class: 'btn', id: 'compare-button', onclick: () => void compare() },
    'Compare',
  );
  replace(
    root,
    h(
      'nav',
      { class: 'crumbs' },
      h('a', { href: '/' }, 'All sweeps'),
      h('span', { 'aria-hidden': 'true' }, ' / '),
      h('span', null, 'Compare'),
    ),
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'card-head' }, h('h1', null, 'Compare sweeps'), button),
      h(
        'p',
        { class: 'hint' },
        'Sweeps with the same base model, eval tasks and eval limit combine into one table: a trial two sweeps share counts once, and seeds of one configuration pool.',
      ),
      list,
      status,
    ),
    views,
  );

  const { sweeps } = await listSweeps();
  replace(
    list,
    h(
      'table',
      { class: 'sweeps' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['', 'sweep', 'status', 'created', 'id'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        null,
        sweeps.map((s) =>
          h(
            'tr',
            { dataset: { sweepId: s.id } },
            h(
              'td',
              null,
              h('input', {
                type: 'checkbox',
                value: s.id,
                'aria-label': `compare ${s.name}`,
                checked: selected.has(s.id),
                onchange: (/** @type {Event} */ e) => {
                  const box = /** @type {HTMLInputElement} */ (e.target);
                  if (box.checked) selected.add(s.id);
                  else selected.delete(s.id);
                },
              }),
            ),
            h('td', null, s.name),
            h('td', null, s.status.replace(/_/g, ' ')),
            h('td', null, fmtTime(s.createdAt)),
            h('td', null, h('code', { class: 'id' }, s.id)),
          ),
        ),
      ),
    ),
  );

  async function compare() {
    const ids = [...selected];
    if (ids.length === 0) {
      status.textContent = 'Select at least one sweep.';
      return;
    }
    history.replaceState(null, '', `/compare?sweeps=${ids.map(encodeURIComponent).join(',')}`);
    status.textContent = 'Loading…';
    try {
      const c = await getJson(`/api/v1/comparisons?sweeps=${ids.map(encodeURIComponent).join(',')}`);
      status.className = 'hint';
      status.textContent = `${c.sweeps.length} sweep${c.sweeps.length === 1 ? '' : 's'}, ${c.trials} trials · base model ${c.baseModel} · eval tasks ${c.evalTasks.join(', ')} · eval limit ${c.evalLimit ?? 'none'}`;
      renderConfigurationViews(views, c.configurations, { file: 'comparison' });
    } catch (err) {
      status.className = 'error';
      status.textContent = /** @type {Error} */ (err).message;
      replace(views);
    }
  }
  if (selected.size) await compare();
}
