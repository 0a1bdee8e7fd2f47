// @ts-check
/**
 * The names of the server-sent events of GET /api/v1/sweeps/:id/events, declared once: the server
 * (api/handlers/get-sweep-events.ts, api/sweep-event-log.ts) sends only these and the dashboard (api.js) listens to
 * exactly these. docs/reference/rest-api.md describes each one's data.
 *
 * - `snapshot`: first on every connection; the sweep's status, its trials by status, the progress of its running
 *   trials, and whether the stream resumes where the client left off (`resumed`) or the client must reload.
 * - `trial-running`, `trial-progress`, `trial-finished` (with the trial's table row): what changed, as it happens.
 * - `sweep-finished`: the final status and summary; `end`: the server closes the stream after it.
 */
export const LIVE_EVENT_NAMES = /** @type {const} */ ([
  'snapshot',
  'trial-running',
  'trial-progress',
  'trial-finished',
  'sweep-finished',
  'end',
]);
