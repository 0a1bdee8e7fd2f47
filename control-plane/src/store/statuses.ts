/**
 * The statuses of sweeps and trials, declared once. The store's types, the REST API's enums, the metrics, the CLI
 * and the dashboard take them from here; the dashboard's browser copy (dashboard/static/statuses.js, served as it
 * is, without a build step) is checked equal to these lists by dashboard/statuses.test.ts.
 */

/**
 * A trial's life: queued, running (training, then evaluation), then one of the final statuses. `stopped`: a
 * successive-halving search stopped it early at a rung (search/), which is an outcome of the search, not a failure.
 */
export const TRIAL_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'stopped'] as const;
export type TrialStatus = (typeof TRIAL_STATUSES)[number];

/** A sweep's life: queued, running, then one of the final statuses (failed trials give `completed_with_failures`). */
export const SWEEP_STATUSES = ['queued', 'running', 'completed', 'completed_with_failures', 'cancelled'] as const;
export type SweepStatus = (typeof SWEEP_STATUSES)[number];

/** The statuses that can still change, of a sweep or a trial; every other status is final. */
export const UNFINISHED_STATUSES = ['queued', 'running'] as const satisfies readonly (TrialStatus & SweepStatus)[];
export type UnfinishedStatus = (typeof UNFINISHED_STATUSES)[number];

/** Whether a sweep or trial in this status can still change. */
export function isUnfinished(status: string): status is UnfinishedStatus {
  return (UNFINISHED_STATUSES as readonly string[]).includes(status);
}

/** The final statuses of a sweep: once in one, a sweep never changes again. */
export const FINAL_SWEEP_STATUSES: ReadonlySet<string> = new Set(SWEEP_STATUSES.filter((s) => !isUnfinished(s)));
