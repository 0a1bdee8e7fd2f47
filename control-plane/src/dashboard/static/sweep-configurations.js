// @ts-check
/** The configuration views under a sweep's page, from GET /api/v1/sweeps/:id/configurations. */
import { getJson } from './api.js';
import { renderConfigurationViews } from './config-views.js';
import { h, replace } from './dom.js';

/**
 * Appends the views to `root` and draws them; `refresh()` redraws from the current results.
 * @param {HTMLElement} root
 * @param {string} id
 */
export function mountSweepConfigurations(root, id) {
  const box = h('div', { id: 'config-views' });
  root.appendChild(box);
  const refresh = async () => {
    try {
      const r = await getJson(`/api/v1/sweeps/${encodeURIComponent(id)}/configurations`);
      renderConfigurationViews(box, r.configurations, { file: id });
    } catch (err) {
      replace(box, h('p', { class: 'error' }, /** @type {Error} */ (err).message));
    }
  };
  // After the chart above has been painted: the first screen is the chart, and these views can wait a frame.
  requestAnimationFrame(() => setTimeout(() => void refresh(), 0));
  return { refresh };
}
