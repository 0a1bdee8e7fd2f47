// @ts-check
/** The dashboard's entry point: `/` lists sweeps, `/sweeps/<id>` shows one. */
import { loadSweep } from './api.js';
import { h, replace } from './dom.js';
import { renderSweepList } from './sweep-list.js';

const LIVE_TEXT = /** @type {Record<string, string>} */ ({
  idle: '',
  connecting: 'connecting…',
  sse: 'live',
  polling: 'live · polling every 2 s',
  offline: 'offline · retrying',
  finished: '',
});

const live = /** @type {HTMLElement} */ (document.getElementById('live'));
/** @param {string} mode */
function setLive(mode) {
  live.dataset.mode = mode;
  live.textContent = LIVE_TEXT[mode] ?? mode;
}

const root = /** @type {HTMLElement} */ (document.getElementById('app'));
const match = /^\/sweeps\/([^/]+)\/?$/.exec(location.pathname);
if (match) {
  // The sweep's table downloads while the chart's modules (ECharts) load and compile: neither waits for the other.
  const id = decodeURIComponent(match[1]);
  const first = loadSweep(id);
  first.catch(() => {}); // handled where it is awaited
  void import('./sweep-view.js').then(({ renderSweep }) => renderSweep(root, id, setLive, first));
} else if (location.pathname === '/compare') {
  const ids = new URLSearchParams(location.search).get('sweeps');
  void import('./comparison-page.js').then(({ renderComparison }) =>
    renderComparison(root, ids ? ids.split(',').filter(Boolean) : []),
  );
} else if (location.pathname === '/' || location.pathname === '') {
  void renderSweepList(root, setLive);
} else {
  replace(
    root,
    h('section', { class: 'card' }, h('h1', null, 'Not found'), h('p', null, h('a', { href: '/' }, 'All sweeps'))),
  );
}
