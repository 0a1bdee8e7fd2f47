// @ts-check
/**
 * The statuses of sweeps and trials, for the browser: the same lists as control-plane/src/store/statuses.ts (the
 * page is served without a build step, so it cannot import the TypeScript); dashboard/statuses.test.ts fails when
 * the two differ.
 */

export const TRIAL_STATUSES = /** @type {const} */ ([
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'stopped',
]);

export const SWEEP_STATUSES = /** @type {const} */ ([
  'queued',
  'running',
  'completed',
  'completed_with_failures',
  'cancelled',
]);

/** The statuses that can still change, of a sweep or a trial; every other status is final. */
export const UNFINISHED_STATUSES = /** @type {const} */ (['queued', 'running']);
