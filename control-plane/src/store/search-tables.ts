/**
 * The tables of successive-halving searches (search/, docs/sweep-spec.md `search`):
 *
 * - `searches`: one row per searched sweep, its plan (rungs, buckets) and the rung it has reached.
 * - `search_trials`: each trial of a searched sweep, its budget bucket and parameters, the rung it reached, and
 *   whether the search stopped it there.
 * - `rung_results`: what a trial's training reported when it stopped at a rung: keyed by trial key and step count,
 *   so a rung result is recorded once, whatever delivers it twice, and reused by any later search of that trial.
 */
import { now, parseOrNull, type SqlStatements } from './sql-statements.js';

export const SEARCH_MIGRATION = {
  version: 4,
  sql: `
    CREATE TABLE searches (
      sweep_id TEXT PRIMARY KEY REFERENCES sweeps(id),
      plan_json TEXT NOT NULL,
      rung INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE search_trials (
      sweep_id TEXT NOT NULL REFERENCES sweeps(id),
      trial_key TEXT NOT NULL REFERENCES trials(trial_key),
      config TEXT NOT NULL,
      bucket INTEGER NOT NULL,
      params INTEGER NOT NULL,
      rung INTEGER NOT NULL DEFAULT 0,
      stopped INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (sweep_id, trial_key)
    );
    CREATE TABLE rung_results (
      trial_key TEXT NOT NULL REFERENCES trials(trial_key),
      steps INTEGER NOT NULL,
      validation_loss REAL,
      validation_examples INTEGER NOT NULL,
      steps_trained INTEGER NOT NULL,
      train_seconds REAL NOT NULL,
      adapter_sha256 TEXT,
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (trial_key, steps)
    );
  `,
};

export interface SearchTrialRow {
  trialKey: string;
  config: string;
  bucket: number;
  params: number;
  /** The rung reached (0-based). */
  rung: number;
  stopped: boolean;
}

export interface RungResult {
  trialKey: string;
  steps: number;
  validationLoss: number | null;
  validationExamples: number;
  /** Steps this training ran (steps minus the step it continued from). */
  stepsTrained: number;
  trainSeconds: number;
  adapterSha256: string | null;
}

export class SearchTables {
  constructor(private readonly sql: SqlStatements) {}

  insert(sweepId: string, plan: unknown, trials: Omit<SearchTrialRow, 'rung' | 'stopped'>[]): void {
    this.sql.prepare('INSERT INTO searches (sweep_id, plan_json) VALUES (?, ?)').run(sweepId, JSON.stringify(plan));
    const add = this.sql.prepare(
      'INSERT INTO search_trials (sweep_id, trial_key, config, bucket, params) VALUES (?, ?, ?, ?, ?)',
    );
    for (const t of trials) add.run(sweepId, t.trialKey, t.config, t.bucket, t.params);
  }

  deleteOfSweep(sweepId: string): void {
    this.sql.prepare('DELETE FROM search_trials WHERE sweep_id = ?').run(sweepId);
    this.sql.prepare('DELETE FROM searches WHERE sweep_id = ?').run(sweepId);
  }

  get(sweepId: string): { plan: unknown; rung: number } | undefined {
    const row = this.sql.prepare('SELECT plan_json, rung FROM searches WHERE sweep_id = ?').get(sweepId) as
      | { plan_json: string; rung: number }
      | undefined;
    return row ? { plan: parseOrNull(row.plan_json), rung: row.rung } : undefined;
  }

  trials(sweepId: string): SearchTrialRow[] {
    const rows = this.sql
      .prepare(
        'SELECT trial_key, config, bucket, params, rung, stopped FROM search_trials WHERE sweep_id = ? ORDER BY rowid',
      )
      .all(sweepId) as {
      trial_key: string;
      config: string;
      bucket: number;
      params: number;
      rung: number;
      stopped: number;
    }[];
    return rows.map((r) => ({
      trialKey: r.trial_key,
      config: r.config,
      bucket: r.bucket,
      params: r.params,
      rung: r.rung,
      stopped: r.stopped === 1,
    }));
  }

  /** Moves the search from rung `from` to `from + 1`; false when it is past `from` already (a repeated delivery). */
  advance(sweepId: string, from: number): boolean {
    return (
      this.sql.prepare('UPDATE searches SET rung = ? WHERE sweep_id = ? AND rung = ?').run(from + 1, sweepId, from)
        .changes === 1
    );
  }

  promote(sweepId: string, trialKeys: readonly string[], rung: number): void {
    const up = this.sql.prepare(
      'UPDATE search_trials SET rung = ? WHERE sweep_id = ? AND trial_key = ? AND stopped = 0',
    );
    for (const k of trialKeys) up.run(rung, sweepId, k);
  }

  stop(sweepId: string, trialKeys: readonly string[]): void {
    const up = this.sql.prepare('UPDATE search_trials SET stopped = 1 WHERE sweep_id = ? AND trial_key = ?');
    for (const k of trialKeys) up.run(sweepId, k);
  }

  /** Records a rung result unless one is recorded for that trial and step count; true when this call wrote it. */
  recordRungResult(r: RungResult): boolean {
    return (
      this.sql
        .prepare(
          `INSERT OR IGNORE INTO rung_results (trial_key, steps, validation_loss, validation_examples, steps_trained,
             train_seconds, adapter_sha256, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          r.trialKey,
          r.steps,
          r.validationLoss !== null && Number.isFinite(r.validationLoss) ? r.validationLoss : null,
          r.validationExamples,
          r.stepsTrained,
          r.trainSeconds,
          r.adapterSha256,
          now(),
        ).changes === 1
    );
  }

  /** The rung results of these trials, by trial key. */
  rungResults(trialKeys: readonly string[]): Map<string, RungResult[]> {
    const out = new Map<string, RungResult[]>();
    const get = this.sql.prepare(
      `SELECT trial_key, steps, validation_loss, validation_examples, steps_trained, train_seconds, adapter_sha256
       FROM rung_results WHERE trial_key = ? ORDER BY steps`,
    );
    for (const key of trialKeys) {
      const rows = get.all(key) as {
        trial_key: string;
        steps: number;
        validation_loss: number | null;
        validation_examples: number;
        steps_trained: number;
        train_seconds: number;
        adapter_sha256: string | null;
      }[];
      out.set(
        key,
        rows.map((r) => ({
          trialKey: r.trial_key,
          steps: r.steps,
          validationLoss: r.validation_loss,
          validationExamples: r.validation_examples,
          stepsTrained: r.steps_trained,
          trainSeconds: r.train_seconds,
          adapterSha256: r.adapter_sha256,
        })),
      );
    }
    return out;
  }
}
