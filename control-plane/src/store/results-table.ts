/** The `results` table: at most one recorded result per trial key, written once, reused by every later sweep. */
import { now, type SqlStatements } from './sql-statements.js';

export interface TrialResult {
  counts: Record<string, number>;
  initialLoss: number | null;
  finalLoss: number | null;
  train: Record<string, unknown>;
  metrics: Record<string, { acc: number; accNorm: number; n: number }> | null;
  adapterSha256: string | null;
}

export class ResultsTable {
  constructor(private readonly sql: SqlStatements) {}

  /** Inserts a trial's result unless one is recorded already; true when this call wrote it. */
  insertOnce(trialKey: string, result: TrialResult): boolean {
    const info = this.sql
      .prepare(
        `INSERT OR IGNORE INTO results (trial_key, counts_json, trainable_total, initial_loss, final_loss, train_json,
           metrics_json, mean_acc, adapter_sha256, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        trialKey,
        JSON.stringify(result.counts),
        result.counts.total ?? 0,
        Number.isFinite(result.initialLoss) ? result.initialLoss : null,
        Number.isFinite(result.finalLoss) ? result.finalLoss : null,
        JSON.stringify(result.train),
        result.metrics ? JSON.stringify(result.metrics) : null,
        meanAccuracy(result),
        result.adapterSha256,
        now(),
      );
    return info.changes === 1;
  }

  /** Keys among `keys` that have a recorded result. */
  recordedKeys(keys: string[]): Set<string> {
    const stmt = this.sql.prepare('SELECT trial_key FROM results WHERE trial_key = ?');
    return new Set(keys.filter((k) => stmt.get(k) !== undefined));
  }

  /** The sha256 of the adapter a trial's result names; null without a result or without an adapter. */
  adapterSha256(trialKey: string): string | null {
    const r = this.sql.prepare('SELECT adapter_sha256 AS sha FROM results WHERE trial_key = ?').get(trialKey) as
      | { sha: string | null }
      | undefined;
    return r?.sha ?? null;
  }

  /** Training wall times (seconds) of every recorded result that reports one. */
  trainWallSeconds(): number[] {
    const rows = this.sql
      .prepare(
        "SELECT json_extract(train_json, '$.wallSeconds') AS s FROM results WHERE json_extract(train_json, '$.wallSeconds') IS NOT NULL",
      )
      .all() as { s: number }[];
    return rows.map((r) => Number(r.s));
  }
}

/** The mean of the result's per-task accuracies; null without evaluated tasks. */
export function meanAccuracy(result: Pick<TrialResult, 'metrics'>): number | null {
  const accs = result.metrics ? Object.values(result.metrics).map((m) => m.acc) : [];
  return accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
}
