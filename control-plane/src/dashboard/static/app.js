// @ts-check
/** The dashboard's entry point: `/` lists sweeps, `/sweeps/<id>` shows one. */
import { h, replace } from './dom.js';
import { renderSweepList } from './sweep-list.js';
import { renderSweep } from './sweep-view.js';
import { renderComparison } from './comparison-page.js';

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
  void renderSweep(root, decodeURIComponent(match[1]), setLive);
} else if (location.pathname === '/compare') {
  const ids = new URLSearchParams(location.search).get('sweeps');
  void renderComparison(root, ids ? ids.split(',').filter(Boolean) : []);
} else if (location.pathname === '/' || location.pathname === '') {
  void renderSweepList(root, setLive);
} else {
  replace(root, h('section', { class: 'card' }, h('h1', null, 'Not found'), h('p', null, h('a', { href: '/' }, 'All sweeps'))));
}
