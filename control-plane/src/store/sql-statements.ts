/**
 * Prepared statements by SQL text, one per connection, shared by the table modules. Preparing a statement costs about
 * as much as running a small one, and the recorder writes a few rows per trial event, so the tables prepare each SQL
 * text once and reuse it. better-sqlite3 statements are reusable, and SQLite re-prepares them itself after a schema
 * change. Every SQL text of the tables is a constant or built from a bounded set of shapes (values are bound), so the
 * cache stays small.
 */
import type Database from 'better-sqlite3';

export class SqlStatements {
  private readonly cache = new Map<string, Database.Statement>();

  /** @param cached - false: prepare on every call (the recorder benchmark's baseline). */
  constructor(
    readonly db: Database.Database,
    private readonly cached = true,
  ) {}

  /** The statement for this SQL text, prepared on first use. */
  prepare(sql: string): Database.Statement {
    if (!this.cached) return this.db.prepare(sql);
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in one transaction (nested calls become savepoints). */
  inTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

/** The time a row is written, as stored (ISO 8601, UTC). */
export const now = (): string => new Date().toISOString();

/** A nullable JSON column's value. */
export const parseOrNull = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));
