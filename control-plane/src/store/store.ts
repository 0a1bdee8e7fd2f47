/**
 * The store: the source of truth for sweeps, trials and results (not Redis, not BullMQ events). SQLite in WAL mode
 * is the embedded default; everything goes through this one module so that another database can replace it.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TrialPlan } from '../sweep-specs/index.js';
import { MIGRATIONS } from './migrations.js';

export type SweepStatus = 'queued' | 'running' | 'completed' | 'completed_with_failures' | 'cancelled';
export type TrialStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

/** A sweep's trials by status. */
export type TrialStatusCounts = Record<TrialStatus, number> & { total: number };

export interface SweepRow {
  id: string;
  name: string;
  status: SweepStatus;
  createdAt: string;
  finishedAt: string | null;
  spec: unknown;
  summary: unknown;
  /** Where the sweep came from when not a plain submit (a CI hook's repository and commit); null otherwise. */
  source?: SweepSource | null;
}

/** The origin of a sweep submitted by an incoming hook. */
export interface SweepSource {
  kind: 'github';
  event: string;
  deliveryId: string | null;
  repository: string | null;
  ref: string | null;
  /** The commit the hook came from. */
  sha: string | null;
  spec: string;
}

/** One attempt to deliver one outgoing webhook. */
export interface WebhookAttempt {
  deliveryId: string;
  sweepId: string;
  url: string;
  event: string;
  attempt: number;
  statusCode: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
}

/** A remembered `Idempotency-Key`. */
export interface IdempotencyRecord {
  key: string;
  bodySha256: string;
  sweepId: string;
  response: unknown;
  createdAt: string;
}

/** Where a page of sweeps starts: after this (created_at, id) in newest-first order. */
export interface SweepCursor {
  createdAt: string;
  id: string;
}

export interface TrialResult {
  counts: Record<string, number>;
  initialLoss: number | null;
  finalLoss: number | null;
  train: Record<string, unknown>;
  metrics: Record<string, { acc: number; accNorm: number; n: number }> | null;
  adapterSha256: string | null;
}

export interface TrialRow {
  trialKey: string;
  name: string;
  method: string;
  status: TrialStatus;
  lastError: string | null;
  reused: boolean;
  plan: TrialPlan;
  result: (TrialResult & { meanAcc: number | null; recordedAt: string }) | null;
}

const now = () => new Date().toISOString();
const parseOrNull = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

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
    plan: JSON.parse(r.plan_json as string) as TrialPlan,
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

export class Store {
  readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.cachePreparedStatements();
    this.migrate();
  }

  /**
   * Makes `db.prepare` return one cached statement per SQL text. The methods below prepare their SQL on every call,
   * and preparing costs as much as running a small statement: the recorder's per-trial writes ran at half speed
   * (docs/benchmarks.md, "Control-plane scale"). better-sqlite3 statements are reusable, and SQLite re-prepares
   * them itself after a schema change. Every SQL text here is a constant (values are bound), so the cache stays small.
   */
  private cachePreparedStatements(): void {
    const prepare = this.db.prepare.bind(this.db);
    const statements = new Map<string, Database.Statement>();
    this.db.prepare = ((sql: string) => {
      let stmt = statements.get(sql);
      if (!stmt) statements.set(sql, (stmt = prepare(sql)));
      return stmt;
    }) as Database.Database['prepare'];
  }

  /** Runs `fn` in one transaction (nested calls become savepoints): many writes, one commit. */
  inTransaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = new Set(
      (this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, now());
      })();
    }
  }

  close(): void {
    this.db.close();
  }

  /** Keys among `keys` that already have a recorded result (reusable). */
  finishedTrialKeys(keys: string[]): Set<string> {
    const stmt = this.db.prepare('SELECT trial_key FROM results WHERE trial_key = ?');
    return new Set(keys.filter((k) => stmt.get(k) !== undefined));
  }

  /** Records a sweep with its trials in one transaction: nothing partial is ever written. */
  createSweep(sweep: { id: string; name: string; spec: unknown }, trials: TrialPlan[], reused: Set<string>): void {
    const t = now();
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO sweeps (id, name, spec_json, status, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(sweep.id, sweep.name, JSON.stringify(sweep.spec), 'queued', t);
      const insertTrial = this.db.prepare(
        `INSERT INTO trials (trial_key, name, method, plan_json, status, updated_at) VALUES (?, ?, ?, ?, 'queued', ?)
         ON CONFLICT(trial_key) DO UPDATE SET status = CASE WHEN trials.status = 'completed' THEN 'completed' ELSE 'queued' END,
           last_error = CASE WHEN trials.status = 'completed' THEN trials.last_error ELSE NULL END, updated_at = excluded.updated_at`,
      );
      const link = this.db.prepare('INSERT INTO sweep_trials (sweep_id, trial_key, position, reused) VALUES (?, ?, ?, ?)');
      trials.forEach((plan, i) => {
        insertTrial.run(plan.trialKey, plan.name, plan.method, JSON.stringify(plan), t);
        link.run(sweep.id, plan.trialKey, i, reused.has(plan.trialKey) ? 1 : 0);
      });
    })();
  }

  /** Removes a sweep that never reached the queue (its trials stay: other sweeps may share them). */
  deleteSweep(id: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM events WHERE sweep_id = ?').run(id);
      this.db.prepare('DELETE FROM sweep_trials WHERE sweep_id = ?').run(id);
      this.db.prepare('DELETE FROM sweeps WHERE id = ?').run(id);
    })();
  }

  getSweep(id: string): SweepRow | undefined {
    const r = this.db.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as Record<string, string | null> | undefined;
    return r ? this.toSweep(r) : undefined;
  }

  listSweeps(limit = 50, offset = 0): SweepRow[] {
    return (
      this.db.prepare('SELECT * FROM sweeps ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?').all(limit, offset) as Record<
        string,
        string | null
      >[]
    ).map((r) => this.toSweep(r));
  }

  private toSweep(r: Record<string, string | null>): SweepRow {
    return {
      id: r.id!,
      name: r.name!,
      status: r.status as SweepStatus,
      createdAt: r.created_at!,
      finishedAt: r.finished_at,
      spec: JSON.parse(r.spec_json!),
      summary: parseOrNull(r.summary_json),
      source: parseOrNull<SweepSource>(r.source_json ?? null),
    };
  }

  /**
   * A stamp that differs whenever the database may have changed since it was taken: rows written through this
   * connection (SQLite's total_changes()) or commits by other connections (data_version). Views built from the store
   * are cached against it (api/view-cache.ts); a write that is rolled back only costs a spurious rebuild.
   */
  changeStamp(): string {
    const r = this.db.prepare('SELECT total_changes() AS c, (SELECT data_version FROM pragma_data_version) AS v').get() as { c: number; v: number };
    return `${r.c}.${r.v}`;
  }

  trialsOfSweep(sweepId: string): TrialRow[] {
    return (this.db.prepare(`${TRIAL_ROWS_SQL} WHERE st.sweep_id = ? ORDER BY st.position`).all(sweepId) as RawTrialRow[]).map(toTrialRow);
  }

  /** One trial of a sweep (its row as trialsOfSweep gives it), or undefined when the sweep has no such trial. */
  trialOfSweep(sweepId: string, trialKey: string): TrialRow | undefined {
    const r = this.db.prepare(`${TRIAL_ROWS_SQL} WHERE st.sweep_id = ? AND st.trial_key = ?`).get(sweepId, trialKey) as RawTrialRow | undefined;
    return r && toTrialRow(r);
  }

  /** Keys of the sweep's trials that are running now, in plan order. */
  runningTrialKeys(sweepId: string): string[] {
    const rows = this.db
      .prepare(
        `SELECT t.trial_key AS k FROM sweep_trials st JOIN trials t ON t.trial_key = st.trial_key
         WHERE st.sweep_id = ? AND t.status = 'running' ORDER BY st.position`,
      )
      .all(sweepId) as { k: string }[];
    return rows.map((r) => r.k);
  }

  /** Records a trial's result once; a second delivery of the same result is ignored (returns false). */
  recordResult(trialKey: string, result: TrialResult): boolean {
    const accs = result.metrics ? Object.values(result.metrics).map((m) => m.acc) : [];
    const meanAcc = accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
    return this.db.transaction(() => {
      const info = this.db
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
          meanAcc,
          result.adapterSha256,
          now(),
        );
      this.setTrialStatus(trialKey, 'completed');
      return info.changes === 1;
    })();
  }

  setTrialStatus(trialKey: string, status: TrialStatus, lastError: string | null = null): void {
    // A completed trial stays completed: a late failure event from a duplicate delivery must not undo it. A
    // cancelled trial only leaves that state by completing (a result that raced the cancel is kept) or by being
    // queued again by a new sweep (createSweep).
    this.db
      .prepare(
        `UPDATE trials SET status = ?, last_error = COALESCE(?, last_error), updated_at = ?
         WHERE trial_key = ? AND (status != 'completed' OR ? = 'completed')
           AND (status != 'cancelled' OR ? IN ('completed', 'queued'))`,
      )
      .run(status, lastError, now(), trialKey, status, status);
  }

  setSweepStatus(id: string, status: SweepStatus, summary?: unknown): void {
    const finished = status === 'queued' || status === 'running' ? null : now();
    // Final states are final: a late 'active' event must not turn a cancelled or finished sweep back to running.
    this.db
      .prepare(
        `UPDATE sweeps SET status = ?, finished_at = COALESCE(?, finished_at), summary_json = COALESCE(?, summary_json)
         WHERE id = ? AND status IN ('queued', 'running')`,
      )
      .run(status, finished, summary === undefined ? null : JSON.stringify(summary), id);
  }

  addEvent(sweepId: string | null, trialKey: string | null, kind: string, payload: unknown): number {
    return Number(
      this.db
        .prepare('INSERT INTO events (sweep_id, trial_key, kind, payload_json, at) VALUES (?, ?, ?, ?, ?)')
        .run(sweepId, trialKey, kind, JSON.stringify(payload), now()).lastInsertRowid,
    );
  }

  sweepsOfTrial(trialKey: string): string[] {
    return (this.db.prepare('SELECT sweep_id FROM sweep_trials WHERE trial_key = ?').all(trialKey) as { sweep_id: string }[]).map(
      (r) => r.sweep_id,
    );
  }

  unfinishedSweeps(): SweepRow[] {
    return (
      this.db.prepare("SELECT * FROM sweeps WHERE status IN ('queued', 'running')").all() as Record<string, string | null>[]
    ).map((r) => this.toSweep(r));
  }

  /** Whether the database is open and answers a query (for `/readyz`). */
  isHealthy(): boolean {
    try {
      return this.db.open && (this.db.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  /** How many of each sweep's trials are in each status (one query for a page of sweeps; absent ids get zeros). */
  trialStatusCounts(sweepIds: readonly string[]): Map<string, TrialStatusCounts> {
    const counts = new Map(sweepIds.map((id) => [id, { total: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 }]));
    if (sweepIds.length === 0) return counts;
    const rows = this.db
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

  /**
   * One page of sweeps, newest first: after `cursor` (keyset pagination, stable while new sweeps arrive) or at
   * `offset`, optionally only those with `status`; `total` counts every match.
   */
  listSweepsPage(opts: { limit: number; cursor?: SweepCursor; offset?: number; status?: SweepStatus }): { rows: SweepRow[]; total: number } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (opts.status) {
      where.push('status = ?');
      args.push(opts.status);
    }
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM sweeps ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`).get(...args) as { n: number }).n;
    if (opts.cursor) {
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      args.push(opts.cursor.createdAt, opts.cursor.createdAt, opts.cursor.id);
    }
    const rows = this.db
      .prepare(`SELECT * FROM sweeps ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...args, opts.limit, opts.cursor ? 0 : (opts.offset ?? 0)) as Record<string, string | null>[];
    return { rows: rows.map((r) => this.toSweep(r)), total };
  }

  setSweepSource(id: string, source: SweepSource): void {
    this.db.prepare('UPDATE sweeps SET source_json = ? WHERE id = ?').run(JSON.stringify(source), id);
  }

  /** The remembered `Idempotency-Key`, unless older than `maxAgeMs` (expired keys are deleted on the way). */
  findIdempotencyKey(key: string, maxAgeMs: number): IdempotencyRecord | undefined {
    this.db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?').run(new Date(Date.now() - maxAgeMs).toISOString());
    const r = this.db.prepare('SELECT * FROM idempotency_keys WHERE key = ?').get(key) as Record<string, string> | undefined;
    return r
      ? { key: r.key, bodySha256: r.body_sha256, sweepId: r.sweep_id, response: JSON.parse(r.response_json), createdAt: r.created_at }
      : undefined;
  }

  /** Remembers a key with the sweep it created; a key already present is kept (the first request wins). */
  saveIdempotencyKey(key: string, bodySha256: string, sweepId: string, response: unknown): void {
    this.db
      .prepare('INSERT OR IGNORE INTO idempotency_keys (key, body_sha256, sweep_id, response_json, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(key, bodySha256, sweepId, JSON.stringify(response), now());
  }

  recordWebhookAttempt(a: WebhookAttempt): void {
    this.db
      .prepare(
        `INSERT INTO webhook_deliveries (delivery_id, sweep_id, url, event, attempt, status_code, ok, error, duration_ms, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.deliveryId, a.sweepId, a.url, a.event, a.attempt, a.statusCode, a.ok ? 1 : 0, a.error, Math.round(a.durationMs), now());
  }

  /** Every delivery attempt of a sweep's webhooks, oldest first. */
  webhookDeliveries(sweepId: string): (WebhookAttempt & { at: string })[] {
    return (this.db.prepare('SELECT * FROM webhook_deliveries WHERE sweep_id = ? ORDER BY id').all(sweepId) as Record<string, string | number | null>[]).map(
      (r) => ({
        deliveryId: r.delivery_id as string,
        sweepId: r.sweep_id as string,
        url: r.url as string,
        event: r.event as string,
        attempt: r.attempt as number,
        statusCode: r.status_code as number | null,
        ok: r.ok === 1,
        error: r.error as string | null,
        durationMs: r.duration_ms as number,
        at: r.at as string,
      }),
    );
  }

  /** Counts for `/metrics`: sweeps and trials by status, webhook attempts by outcome. */
  statusCounts(): { sweeps: Record<string, number>; trials: Record<string, number>; webhookAttempts: { ok: number; failed: number } } {
    const byStatus = (table: string) =>
      Object.fromEntries(
        (this.db.prepare(`SELECT status, COUNT(*) AS n FROM ${table} GROUP BY status`).all() as { status: string; n: number }[]).map((r) => [r.status, r.n]),
      );
    const hooks = this.db.prepare('SELECT COALESCE(SUM(ok), 0) AS ok, COUNT(*) - COALESCE(SUM(ok), 0) AS failed FROM webhook_deliveries').get() as {
      ok: number;
      failed: number;
    };
    return { sweeps: byStatus('sweeps'), trials: byStatus('trials'), webhookAttempts: hooks };
  }

  /** Training wall times (seconds) of every recorded result, for the duration histogram. */
  trainWallSeconds(): number[] {
    return (
      this.db.prepare("SELECT json_extract(train_json, '$.wallSeconds') AS s FROM results WHERE json_extract(train_json, '$.wallSeconds') IS NOT NULL").all() as {
        s: number;
      }[]
    ).map((r) => Number(r.s));
  }
}
