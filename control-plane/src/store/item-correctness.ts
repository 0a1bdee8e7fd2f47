/**
 * Per-item correctness of each trial on each eval task, kept so that configuration-level statistics (paired
 * differences with bootstrap intervals, docs/statistics.md) can be recomputed without re-evaluating. One row per
 * (trial, task): the item count and the packed bits (stats/item-bits.ts), about n / 8 bytes.
 */
import type Database from 'better-sqlite3';

/** The table, created by migration 3 (store/migrations.ts). */
export const ITEM_CORRECTNESS_MIGRATION = {
  version: 3,
  sql: `
    CREATE TABLE item_correctness (
      trial_key TEXT NOT NULL REFERENCES trials(trial_key),
      task TEXT NOT NULL,
      n INTEGER NOT NULL,
      bits BLOB NOT NULL,
      PRIMARY KEY (trial_key, task)
    );
  `,
};

/** One task's correctness: `n` items, `bits` packed least significant bit first. */
export interface TaskItems {
  n: number;
  bits: Uint8Array;
}

/** Records a trial's per-task bits; a second delivery of the same trial is ignored. */
export function recordItemCorrectness(
  db: Database.Database,
  trialKey: string,
  tasks: Record<string, TaskItems>,
): void {
  const insert = db.prepare('INSERT OR IGNORE INTO item_correctness (trial_key, task, n, bits) VALUES (?, ?, ?, ?)');
  for (const [task, t] of Object.entries(tasks)) {
    if (t.bits.length !== Math.ceil(t.n / 8)) {
      throw new RangeError(`trial ${trialKey} task ${task}: ${t.bits.length} bytes of item bits for ${t.n} items`);
    }
    insert.run(trialKey, task, t.n, Buffer.from(t.bits));
  }
}

/** The recorded bits of `trialKeys`: trial key → task → items (trials without any are absent). */
export function itemCorrectnessOf(
  db: Database.Database,
  trialKeys: readonly string[],
): Map<string, Map<string, TaskItems>> {
  const out = new Map<string, Map<string, TaskItems>>();
  const select = db.prepare('SELECT task, n, bits FROM item_correctness WHERE trial_key = ?');
  for (const key of trialKeys) {
    const rows = select.all(key) as { task: string; n: number; bits: Buffer }[];
    if (rows.length) out.set(key, new Map(rows.map((r) => [r.task, { n: r.n, bits: new Uint8Array(r.bits) }])));
  }
  return out;
}

/** The recorded bits of a set of trials (a sweep's rows), as {@link itemCorrectnessOf} returns them. */
export const itemsOfRows = (db: Database.Database, rows: readonly { trialKey: string }[]) =>
  itemCorrectnessOf(
    db,
    rows.map((r) => r.trialKey),
  );
