/** The `idempotency_keys` table: each submit's `Idempotency-Key`, with the sweep it created and the response sent. */
import { now, type SqlStatements } from './sql-statements.js';

/** A remembered `Idempotency-Key`. */
export interface IdempotencyRecord {
  key: string;
  bodySha256: string;
  sweepId: string;
  response: unknown;
  createdAt: string;
}

export class IdempotencyKeysTable {
  constructor(private readonly sql: SqlStatements) {}

  /** The remembered key, unless older than `maxAgeMs` (expired keys are deleted on the way). */
  find(key: string, maxAgeMs: number): IdempotencyRecord | undefined {
    this.sql
      .prepare('DELETE FROM idempotency_keys WHERE created_at < ?')
      .run(new Date(Date.now() - maxAgeMs).toISOString());
    const r = this.sql.prepare('SELECT * FROM idempotency_keys WHERE key = ?').get(key) as
      | Record<string, string>
      | undefined;
    return r
      ? {
          key: r.key,
          bodySha256: r.body_sha256,
          sweepId: r.sweep_id,
          response: JSON.parse(r.response_json),
          createdAt: r.created_at,
        }
      : undefined;
  }

  /** Remembers a key with the sweep it created; a key already present is kept (the first request wins). */
  save(key: string, bodySha256: string, sweepId: string, response: unknown): void {
    this.sql
      .prepare(
        'INSERT OR IGNORE INTO idempotency_keys (key, body_sha256, sweep_id, response_json, created_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(key, bodySha256, sweepId, JSON.stringify(response), now());
  }
}
