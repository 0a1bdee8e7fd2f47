/**
 * The `trials` table: one row per trial key, shared by every sweep that contains the trial, with its plan and its
 * status. The status rules that keep a finished trial finished live here.
 */
import type { Trial } from '../sweep-specs/index.js';
import { now, type SqlStatements } from './sql-statements.js';
import type { TrialStatus } from './statuses.js';
import { trialToJson } from './trial-json.js';

export class TrialsTable {
  constructor(private readonly sql: SqlStatements) {}

  /**
   * Adds a trial as queued, or queues again a trial an earlier sweep left unfinished (failed, cancelled); a
   * completed trial stays completed, with its result, for reuse.
   */
  queue(plan: Trial, updatedAt: string): void {
    this.sql
      .prepare(
        `INSERT INTO trials (trial_key, name, method, plan_json, status, updated_at) VALUES (?, ?, ?, ?, 'queued', ?)
         ON CONFLICT(trial_key) DO UPDATE SET status = CASE WHEN trials.status = 'completed' THEN 'completed' ELSE 'queued' END,
           last_error = CASE WHEN trials.status = 'completed' THEN trials.last_error ELSE NULL END, updated_at = excluded.updated_at`,
      )
      .run(plan.trialKey, plan.name, plan.method?.$case ?? '', trialToJson(plan), updatedAt);
  }

  setStatus(trialKey: string, status: TrialStatus, lastError: string | null = null): void {
    // A completed trial stays completed: a late failure event from a duplicate delivery must not undo it. A
    // cancelled trial only leaves that state by completing (a result that raced the cancel is kept) or by being
    // queued again by a new sweep (`queue`).
    this.sql
      .prepare(
        `UPDATE trials SET status = ?, last_error = COALESCE(?, last_error), updated_at = ?
         WHERE trial_key = ? AND (status != 'completed' OR ? = 'completed')
           AND (status != 'cancelled' OR ? IN ('completed', 'queued'))`,
      )
      .run(status, lastError, now(), trialKey, status, status);
  }

  /** How many trials are in each status (statuses without a trial are absent). */
  countByStatus(): Record<string, number> {
    const rows = this.sql.prepare('SELECT status, COUNT(*) AS n FROM trials GROUP BY status').all() as {
      status: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
