/** Versioned schema migrations of the SQLite store; each runs once, in order, inside a transaction. */
import { ITEM_CORRECTNESS_MIGRATION } from './item-correctness.js';
import { SEARCH_MIGRATION } from './search-tables.js';

export const MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE sweeps (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        summary_json TEXT
      );
      CREATE TABLE trials (
        trial_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        method TEXT NOT NULL,
        plan_json TEXT NOT NULL,
        status TEXT NOT NULL,
        last_error TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE sweep_trials (
        sweep_id TEXT NOT NULL REFERENCES sweeps(id),
        trial_key TEXT NOT NULL REFERENCES trials(trial_key),
        position INTEGER NOT NULL,
        reused INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (sweep_id, trial_key)
      );
      CREATE TABLE results (
        trial_key TEXT PRIMARY KEY REFERENCES trials(trial_key),
        counts_json TEXT NOT NULL,
        trainable_total INTEGER NOT NULL,
        initial_loss REAL,
        final_loss REAL,
        train_json TEXT NOT NULL,
        metrics_json TEXT,
        mean_acc REAL,
        adapter_sha256 TEXT,
        recorded_at TEXT NOT NULL
      );
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sweep_id TEXT,
        trial_key TEXT,
        kind TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        at TEXT NOT NULL
      );
      CREATE INDEX events_by_sweep ON events(sweep_id, id);
    `,
  },
  {
    // The surfaces: idempotent submits, where a sweep came from (a CI hook's commit), and every webhook attempt.
    version: 2,
    sql: `
      ALTER TABLE sweeps ADD COLUMN source_json TEXT;
      CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        body_sha256 TEXT NOT NULL,
        sweep_id TEXT NOT NULL,
        response_json TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        delivery_id TEXT NOT NULL,
        sweep_id TEXT NOT NULL,
        url TEXT NOT NULL,
        event TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status_code INTEGER,
        ok INTEGER NOT NULL,
        error TEXT,
        duration_ms INTEGER NOT NULL,
        at TEXT NOT NULL
      );
      CREATE INDEX webhook_deliveries_by_sweep ON webhook_deliveries(sweep_id, id);
      CREATE INDEX sweeps_by_created ON sweeps(created_at DESC, id DESC);
    `,
  },
  ITEM_CORRECTNESS_MIGRATION,
  SEARCH_MIGRATION,
];
