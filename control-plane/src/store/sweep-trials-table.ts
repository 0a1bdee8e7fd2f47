/**
 * The `sweep_trials` table: which trials a sweep contains, in its order, and whether each was reused from an earlier
 * sweep. Reading a sweep's trials joins their `trials` row and `results` row through it.
 */
import type { Trial } from '../sweep-specs/index.js';
import type { TrialResult } from './results-table.js';
import { parseOrNull, type SqlStatements } from './sql-statements.js';
import { TRIAL_STATUSES, type TrialStatus } from './statuses.js';
import { trialFromJson } from './trial-json.js';

export interface TrialRow {
  trialKey: string;
  name: string;
  method: string;
  status: TrialStatus;
  lastError: string | null;
  reused: boolean;
  plan: Trial;
  result: (TrialResult & { meanAcc: number | null; recordedAt: string }) | null;
}

/** A sweep's trials by status. */
export type TrialStatusCounts = Record<TrialStatus, number> & { total: number };

export class SweepTrialsTable {
  constructor(private readonly sql: SqlStatements) {}

  link(sweepId: string, trialKey: string, position: number, reused: boolean): void {
    this.sql
      .prepare('INSERT INTO sweep_trials (sweep_id, trial_key, position, reused) VALUES (?, ?, ?, ?)')
      .run(sweepId, trialKey, position, reused ? 1 : 0);
  }

  deleteOfSweep(sweepId: string): void {
    this.sql.prepare('DELETE FROM sweep_trials WHERE sweep_id = ?').run(sweepId);
  }

  /** The ids of the sweeps that contain a trial. */
  sweepsOfTrial(trialKey: string): string[] {
    return (
      this.sql.prepare('SELECT sweep_id FROM sweep_trials WHERE trial_key = ?').all(trialKey) as { sweep_id: string }[]
    ).map((r) => r.sweep_id);
  }

  /** A sweep's trials in its order, each with its status and its result if recorded. */
  trialsOfSweep(sweepId: string): TrialRow[] {
    const rows = this.sql
      .prepare(`${TRIAL_ROWS_SQL} WHERE st.sweep_id = ? ORDER BY st.position`)
      .all(sweepId) as RawTrialRow[];
    return rows.map(toTrialRow);
  }

  /** One trial of a sweep (its row as trialsOfSweep gives it), or undefined when the sweep has no such trial. */
  trialOfSweep(sweepId: string, trialKey: string): TrialRow | undefined {
    const r = this.sql
      .prepare(`${TRIAL_ROWS_SQL} WHERE st.sweep_id = ? AND st.trial_key = ?`)
      .get(sweepId, trialKey) as RawTrialRow | undefined;
    return r && toTrialRow(r);
  }

  /** Keys of the sweep's trials that are running now, in plan order. */
  runningTrialKeys(sweepId: string): string[] {
    const rows = this.sql
      .prepare(
        `SELECT t.trial_key AS k FROM sweep_trials st JOIN trials t ON t.trial_key = st.trial_key
         WHERE st.sweep_id = ? AND t.status = 'running' ORDER BY st.position`,
      )
      .all(sweepId) as { k: string }[];
    return rows.map((r) => r.k);
  }

  /** How many results a sweep's trials have recorded (one row per trial key at most). */
  resultCount(sweepId: string): number {
    return (
      this.sql
        .prepare(
          'SELECT COUNT(*) AS n FROM results r JOIN sweep_trials st ON st.trial_key = r.trial_key WHERE st.sweep_id = ?',
        )
        .get(sweepId) as {
        n: number;
      }
    ).n;
  }

  /** How many of each sweep's trials are in each status (one query for a page of sweeps; absent ids get zeros). */
  statusCounts(sweepIds: readonly string[]): Map<string, TrialStatusCounts> {
    const zeros = () => ({ total: 0, ...Object.fromEntries(TRIAL_STATUSES.map((s) => [s, 0])) }) as TrialStatusCounts;
    const counts = new Map(sweepIds.map((id) => [id, zeros()]));
    if (sweepIds.length === 0) return counts;
    const rows = this.sql
      .prepare(
        `SELECT st.sweep_id AS id, t.status AS status, COUNT(*) AS n FROM sweep_trials st JOIN trials t ON t.trial_key = st.trial_key
         WHERE st.sweep_id IN (${sweepIds.map(() => '?').join(',')}) GROUP BY st.sweep_id, t.status`,
      )
      .all(...sweepIds) as { id: string; status: TrialStatus; n: number }[];
    for (const r of rows) {
      const c = counts.get(r.id)!;
      c[r.status] += r.n;
      c.total += r.n;
    }
    return counts;
  }
}

type RawTrialRow = Record<string, string | number | null>;

const TRIAL_ROWS_SQL = `SELECT t.*, st.reused, r.counts_json, r.initial_loss, r.final_loss, r.train_json, r.metrics_json, r.mean_acc,
         r.adapter_sha256, r.recorded_at
       FROM sweep_trials st JOIN trials t ON t.trial_key = st.trial_key
       LEFT JOIN results r ON r.trial_key = t.trial_key`;

function toTrialRow(r: RawTrialRow): TrialRow {
  return {
    trialKey: r.trial_key as string,
    name: r.name as string,
    method: r.method as string,
    status: r.status as TrialStatus,
    lastError: r.last_error as string | null,
    reused: r.reused === 1,
    plan: trialFromJson(r.plan_json as string),
    result:
      r.counts_json === null
        ? null
        : {
            counts: JSON.parse(r.counts_json as string),
            initialLoss: r.initial_loss as number | null,
            finalLoss: r.final_loss as number | null,
            train: JSON.parse(r.train_json as string),
            metrics: parseOrNull(r.metrics_json as string | null),
            meanAcc: r.mean_acc as number | null,
            adapterSha256: r.adapter_sha256 as string | null,
            recordedAt: r.recorded_at as string,
          },
  };
}
