// @ts-check
/**
 * A searched sweep's successive halving: the rungs (configurations entering, kept, stopped early), the budget
 * buckets, the compute spent against the full grid's, and the configurations stopped early with their validation
 * loss. Loaded from GET /api/v1/sweeps/:id/search; hidden for a sweep without a search.
 */
import { getJson } from './api.js';
import { h, replace } from './dom.js';
import { fmtCount, fmtShare } from './format.js';

/** @param {number} n @param {number} [digits] */
const num = (n, digits = 4) => (Number.isFinite(n) ? Number(n.toPrecision(digits)).toLocaleString('en-US') : '—');

/**
 * @param {HTMLElement} root
 * @param {string} id
 */
export function mountSweepSearch(root, id) {
  const box = h('section', { class: 'card', id: 'search', hidden: true });
  root.appendChild(box);
  const refresh = async () => {
    /** @type {any} */
    let s;
    try {
      s = await getJson(`/api/v1/sweeps/${encodeURIComponent(id)}/search`);
    } catch (err) {
      box.hidden = false;
      replace(box, h('p', { class: 'error' }, /** @type {Error} */ (err).message));
      return;
    }
    box.hidden = !s;
    if (!s) return;
    const last = s.rungSteps.length - 1;
    const c = s.compute;
    const stopped = s.trials.filter((/** @type {any} */ t) => t.stopped);
    replace(
      box,
      h(
        'div',
        { class: 'card-head' },
        h('h2', null, 'Successive halving'),
        h(
          'p',
          { class: 'hint' },
          `η = ${s.eta}; rungs at steps ${s.rungSteps.join(', ')}; the best 1/${s.eta} of each budget bucket by validation loss continue`,
        ),
      ),
      h(
        'p',
        { id: 'search-compute' },
        h('strong', null, `${fmtShare(c.stepShare)} of the full grid's train steps`),
        ` (${c.steps.toLocaleString('en-US')} of ${c.gridSteps.toLocaleString('en-US')}); `,
        `${num(c.seconds)} of ~${num(c.gridSeconds)} step-seconds, ${num(c.deviceHours, 3)} of ~${num(c.gridDeviceHours, 3)} device-hours`,
      ),
      h(
        'table',
        { class: 'data', id: 'search-rungs' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['rung', 'steps', 'configurations', 'kept', 'stopped early'].map((x) => h('th', null, x)),
          ),
        ),
        h(
          'tbody',
          null,
          s.rungs.map((/** @type {any} */ r) =>
            h(
              'tr',
              { 'data-rung': String(r.rung) },
              h('td', null, `${r.rung + 1} / ${s.rungSteps.length}`),
              h('td', null, String(r.steps)),
              h('td', null, String(r.configs)),
              h(
                'td',
                null,
                r.rung === last
                  ? 'final'
                  : r.kept === null
                    ? r.rung === s.currentRung
                      ? 'running'
                      : 'waiting'
                    : String(r.kept),
              ),
              h('td', null, r.stopped === null ? '' : String(r.stopped)),
            ),
          ),
        ),
      ),
      h(
        'table',
        { class: 'data', id: 'search-buckets' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['budget bucket', 'trainable', 'configurations', 'finalists'].map((x) => h('th', null, x)),
          ),
        ),
        h(
          'tbody',
          null,
          s.buckets.map((/** @type {any} */ b) =>
            h(
              'tr',
              null,
              h('td', null, String(b.index + 1)),
              h('td', null, b.label),
              h('td', null, String(b.configs)),
              h('td', null, String(b.finalists)),
            ),
          ),
        ),
      ),
      stopped.length
        ? h(
            'details',
            { id: 'search-stopped' },
            h('summary', null, `${stopped.length} stopped early`),
            h(
              'ul',
              null,
              stopped.map((/** @type {any} */ t) =>
                h(
                  'li',
                  null,
                  h('strong', null, t.name),
                  ` · ${fmtCount(t.params)} params · stopped at rung ${t.rung + 1} (step ${t.steps})`,
                  t.validationLoss[t.rung] == null
                    ? ' · failed'
                    : ` · validation loss ${num(t.validationLoss[t.rung])}`,
                ),
              ),
            ),
          )
        : null,
    );
  };
  void refresh();
  return { refresh };
}
