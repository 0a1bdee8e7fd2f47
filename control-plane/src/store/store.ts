/**
 * The store: the source of truth for sweeps, trials and results (not Redis, not BullMQ events). SQLite in WAL mode
 * is the embedded default. Each table has its own module with all of its SQL; this facade is what the rest of the
 * control plane uses, and it holds the writes that span tables, each in one transaction, so that nothing partial is
 * ever written. Another database can replace SQLite behind this class.
 */
import type Database from 'better-sqlite3';
import type { Trial } from '../sweep-specs/index.js';
import { EventsTable } from './events-table.js';
import { IdempotencyKeysTable, type IdempotencyRecord } from './idempotency-keys-table.js';
import { openDatabase } from './open-database.js';
import { ResultsTable, type TrialResult } from './results-table.js';
import { SearchTables, type RungResult, type SearchTrialRow } from './search-tables.js';
import { now, SqlStatements } from './sql-statements.js';
import type { SweepStatus, TrialStatus } from './statuses.js';
import { SweepTrialsTable, type TrialRow, type TrialStatusCounts } from './sweep-trials-table.js';
import { SweepsTable, type SweepCursor, type SweepRow, type SweepSource } from './sweeps-table.js';
import { TrialsTable } from './trials-table.js';
import { WebhookDeliveriesTable, type WebhookAttempt } from './webhook-deliveries-table.js';

export type { SweepStatus, TrialStatus } from './statuses.js';
export type { IdempotencyRecord } from './idempotency-keys-table.js';
export type { TrialResult } from './results-table.js';
export type { RungResult, SearchTrialRow } from './search-tables.js';
export type { TrialRow, TrialStatusCounts } from './sweep-trials-table.js';
export type { SweepCursor, SweepRow, SweepSource } from './sweeps-table.js';
export type { WebhookAttempt } from './webhook-deliveries-table.js';

export interface StoreOptions {
  /** Reuse each prepared statement. @defaultValue true; false only for the recorder benchmark's baseline */
  cacheStatements?: boolean;
}

export class Store {
  /** The open connection, for tests that set up what the API never writes (a backdated row); code uses the tables. */
  readonly db: Database.Database;
  private readonly sql: SqlStatements;
  private readonly sweeps: SweepsTable;
  private readonly trials: TrialsTable;
  private readonly sweepTrials: SweepTrialsTable;
  private readonly results: ResultsTable;
  private readonly events: EventsTable;
  private readonly idempotencyKeys: IdempotencyKeysTable;
  private readonly webhookAttempts: WebhookDeliveriesTable;
  private readonly search: SearchTables;

  constructor(path: string, opts: StoreOptions = {}) {
    this.db = openDatabase(path);
    this.sql = new SqlStatements(this.db, opts.cacheStatements ?? true);
    this.sweeps = new SweepsTable(this.sql);
    this.trials = new TrialsTable(this.sql);
    this.sweepTrials = new SweepTrialsTable(this.sql);
    this.results = new ResultsTable(this.sql);
    this.events = new EventsTable(this.sql);
    this.idempotencyKeys = new IdempotencyKeysTable(this.sql);
    this.webhookAttempts = new WebhookDeliveriesTable(this.sql);
    this.search = new SearchTables(this.sql);
  }

  /** Runs `fn` in one transaction (nested calls become savepoints): many writes, one commit. */
  inTransaction<T>(fn: () => T): T {
    return this.sql.inTransaction(fn);
  }

  close(): void {
    this.db.close();
  }

  /** Whether the database is open and answers a query (for `/readyz`). */
  isHealthy(): boolean {
    try {
      return this.db.open && (this.sql.prepare('SELECT 1 AS ok').get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  /**
   * A stamp that differs whenever the database may have changed since it was taken: rows written through this
   * connection (SQLite's total_changes()) or commits by other connections (data_version). Views built from the store
   * are cached against it (api/view-cache.ts); a write that is rolled back only costs a spurious rebuild.
   */
  changeStamp(): string {
    const r = this.sql
      .prepare('SELECT total_changes() AS c, (SELECT data_version FROM pragma_data_version) AS v')
      .get() as { c: number; v: number };
    return `${r.c}.${r.v}`;
  }

  // Sweeps and their trials.

  /** Records a sweep with its trials in one transaction: nothing partial is ever written. */
  createSweep(sweep: { id: string; name: string; spec: unknown }, trials: Trial[], reused: Set<string>): void {
    const t = now();
    this.inTransaction(() => {
      this.sweeps.insert(sweep, t);
      trials.forEach((plan, i) => {
        this.trials.queue(plan, t);
        this.sweepTrials.link(sweep.id, plan.trialKey, i, reused.has(plan.trialKey));
      });
    });
  }

  /** Removes a sweep that never reached the queue (its trials stay: other sweeps may share them). */
  deleteSweep(id: string): void {
    this.inTransaction(() => {
      this.events.deleteOfSweep(id);
      this.search.deleteOfSweep(id);
      this.sweepTrials.deleteOfSweep(id);
      this.sweeps.delete(id);
    });
  }

  getSweep(id: string): SweepRow | undefined {
    return this.sweeps.get(id);
  }

  listSweeps(limit = 50, offset = 0): SweepRow[] {
    return this.sweeps.list(limit, offset);
  }

  /**
   * One page of sweeps, newest first: after `cursor` (keyset pagination, stable while new sweeps arrive) or at
   * `offset`, optionally only those with `status`; `total` counts every match.
   */
  listSweepsPage(opts: { limit: number; cursor?: SweepCursor; offset?: number; status?: SweepStatus }): {
    rows: SweepRow[];
    total: number;
  } {
    return this.sweeps.listPage(opts);
  }

  /** How many sweeps are not finished (queued or running): the server caps them. */
  unfinishedSweepCount(): number {
    return this.sweeps.unfinishedCount();
  }

  unfinishedSweeps(): SweepRow[] {
    return this.sweeps.unfinished();
  }

  /** Moves a queued or running sweep to `status` (a final one stamps finished_at); final sweeps stay as they are. */
  setSweepStatus(id: string, status: SweepStatus, summary?: unknown): void {
    this.sweeps.setStatus(id, status, summary);
  }

  setSweepSource(id: string, source: SweepSource): void {
    this.sweeps.setSource(id, source);
  }

  trialsOfSweep(sweepId: string): TrialRow[] {
    return this.sweepTrials.trialsOfSweep(sweepId);
  }

  /** One trial of a sweep (its row as trialsOfSweep gives it), or undefined when the sweep has no such trial. */
  trialOfSweep(sweepId: string, trialKey: string): TrialRow | undefined {
    return this.sweepTrials.trialOfSweep(sweepId, trialKey);
  }

  /** Keys of the sweep's trials that are running now, in plan order. */
  runningTrialKeys(sweepId: string): string[] {
    return this.sweepTrials.runningTrialKeys(sweepId);
  }

  sweepsOfTrial(trialKey: string): string[] {
    return this.sweepTrials.sweepsOfTrial(trialKey);
  }

  /** How many of each sweep's trials are in each status (one query for a page of sweeps; absent ids get zeros). */
  trialStatusCounts(sweepIds: readonly string[]): Map<string, TrialStatusCounts> {
    return this.sweepTrials.statusCounts(sweepIds);
  }

  /** Moves a trial to `status`; completed stays completed, and cancelled leaves only to complete or be queued. */
  setTrialStatus(trialKey: string, status: TrialStatus, lastError: string | null = null): void {
    this.trials.setStatus(trialKey, status, lastError);
  }

  // Successive-halving searches (search/).

  /** Records a searched sweep's plan and its trials' buckets (with the sweep, in the caller's transaction). */
  createSearch(sweepId: string, plan: unknown, trials: Omit<SearchTrialRow, 'rung' | 'stopped'>[]): void {
    this.inTransaction(() => this.search.insert(sweepId, plan, trials));
  }

  /** A searched sweep's plan and the rung it has reached; undefined for a sweep without a search. */
  searchOf(sweepId: string): { plan: unknown; rung: number } | undefined {
    return this.search.get(sweepId);
  }

  searchTrials(sweepId: string): SearchTrialRow[] {
    return this.search.trials(sweepId);
  }

  /**
   * Closes rung `rung` of a search in one transaction: `promoted` reach rung + 1, `stopped` stay at `rung` and are
   * marked stopped, and the trials of `stoppedTrials` (the stopped ones that did not fail) take the status stopped.
   * False, and nothing written, when the search is past `rung` already.
   */
  advanceSearch(
    sweepId: string,
    rung: number,
    change: { promoted: readonly string[]; stopped: readonly string[]; stoppedTrials: readonly string[] },
    reason: string,
  ): boolean {
    return this.inTransaction(() => {
      if (!this.search.advance(sweepId, rung)) return false;
      this.search.promote(sweepId, change.promoted, rung + 1);
      this.search.stop(sweepId, change.stopped);
      for (const key of change.stoppedTrials) this.trials.setStatus(key, 'stopped', reason);
      return true;
    });
  }

  /** Records what a trial reported at a rung, once per trial key and step count; true when this call wrote it. */
  recordRungResult(r: RungResult): boolean {
    return this.search.recordRungResult(r);
  }

  rungResults(trialKeys: readonly string[]): Map<string, RungResult[]> {
    return this.search.rungResults(trialKeys);
  }

  // Results.

  /** Records a trial's result once; a second delivery of the same result is ignored (returns false). */
  recordResult(trialKey: string, result: TrialResult): boolean {
    return this.inTransaction(() => {
      const written = this.results.insertOnce(trialKey, result);
      this.trials.setStatus(trialKey, 'completed');
      return written;
    });
  }

  /** Keys among `keys` that already have a recorded result (reusable). */
  finishedTrialKeys(keys: string[]): Set<string> {
    return this.results.recordedKeys(keys);
  }

  /** The sha256 of a finished trial's adapter; null when it has no result or no adapter. */
  adapterSha256Of(trialKey: string): string | null {
    return this.results.adapterSha256(trialKey);
  }

  /** How many results a sweep's trials have recorded. */
  resultCountOfSweep(sweepId: string): number {
    return this.sweepTrials.resultCount(sweepId);
  }

  /** Training wall times (seconds) of every recorded result, for the duration histogram. */
  trainWallSeconds(): number[] {
    return this.results.trainWallSeconds();
  }

  // Events, idempotency keys, webhook attempts.

  addEvent(sweepId: string | null, trialKey: string | null, kind: string, payload: unknown): number {
    return this.events.add(sweepId, trialKey, kind, payload);
  }

  /** How many events of this kind a sweep has. */
  eventCount(sweepId: string, kind: string): number {
    return this.events.count(sweepId, kind);
  }

  /** The remembered `Idempotency-Key`, unless older than `maxAgeMs` (expired keys are deleted on the way). */
  findIdempotencyKey(key: string, maxAgeMs: number): IdempotencyRecord | undefined {
    return this.idempotencyKeys.find(key, maxAgeMs);
  }

  /** Remembers a key with the sweep it created; a key already present is kept (the first request wins). */
  saveIdempotencyKey(key: string, bodySha256: string, sweepId: string, response: unknown): void {
    this.idempotencyKeys.save(key, bodySha256, sweepId, response);
  }

  recordWebhookAttempt(a: WebhookAttempt): void {
    this.webhookAttempts.record(a);
  }

  /** Every delivery attempt of a sweep's webhooks, oldest first. */
  webhookDeliveries(sweepId: string): (WebhookAttempt & { at: string })[] {
    return this.webhookAttempts.ofSweep(sweepId);
  }

  /** Counts for `/metrics`: sweeps and trials by status, webhook attempts by outcome. */
  statusCounts(): {
    sweeps: Record<string, number>;
    trials: Record<string, number>;
    webhookAttempts: { ok: number; failed: number };
  } {
    return {
      sweeps: this.sweeps.countByStatus(),
      trials: this.trials.countByStatus(),
      webhookAttempts: this.webhookAttempts.outcomeCounts(),
    };
  }
}
