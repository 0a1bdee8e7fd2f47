/** The `events` table: an append-only log of what happened to a sweep and its trials (submits, failures, ends). */
import { now, type SqlStatements } from './sql-statements.js';

export class EventsTable {
  constructor(private readonly sql: SqlStatements) {}

  /** Appends an event; returns its id. */
  add(sweepId: string | null, trialKey: string | null, kind: string, payload: unknown): number {
    const info = this.sql
      .prepare('INSERT INTO events (sweep_id, trial_key, kind, payload_json, at) VALUES (?, ?, ?, ?, ?)')
      .run(sweepId, trialKey, kind, JSON.stringify(payload), now());
    return Number(info.lastInsertRowid);
  }

  /** How many events of this kind a sweep has. */
  count(sweepId: string, kind: string): number {
    return (
      this.sql.prepare('SELECT COUNT(*) AS n FROM events WHERE sweep_id = ? AND kind = ?').get(sweepId, kind) as {
        n: number;
      }
    ).n;
  }

  deleteOfSweep(sweepId: string): void {
    this.sql.prepare('DELETE FROM events WHERE sweep_id = ?').run(sweepId);
  }
}
