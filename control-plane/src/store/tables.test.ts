/** The table modules on their own, on an in-memory database with the store's migrations. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trialFixture } from '../sweep-specs/test-fixtures.js';
import { EventsTable } from './events-table.js';
import { MIGRATIONS } from './migrations.js';
import { openDatabase } from './open-database.js';
import { meanAccuracy, ResultsTable } from './results-table.js';
import { SqlStatements } from './sql-statements.js';
import { SweepTrialsTable } from './sweep-trials-table.js';
import { SweepsTable } from './sweeps-table.js';
import { TrialsTable } from './trials-table.js';
import { WebhookDeliveriesTable } from './webhook-deliveries-table.js';

const T0 = '2026-01-01T00:00:00.000Z';

function tables() {
  const sql = new SqlStatements(openDatabase(':memory:'));
  return {
    sql,
    sweeps: new SweepsTable(sql),
    trials: new TrialsTable(sql),
    sweepTrials: new SweepTrialsTable(sql),
    results: new ResultsTable(sql),
    events: new EventsTable(sql),
    webhooks: new WebhookDeliveriesTable(sql),
  };
}

const plan = (key: string) => trialFixture({ key, name: `t-${key}`, method: 'lora' });
const status = (sql: SqlStatements, key: string) =>
  sql.db.prepare('SELECT status, last_error AS lastError FROM trials WHERE trial_key = ?').get(key) as {
    status: string;
    lastError: string | null;
  };

const result = {
  counts: { total: 10 },
  initialLoss: Number.NaN,
  finalLoss: 1,
  train: {},
  metrics: null,
  adapterSha256: 'ab',
};

describe('openDatabase', () => {
  it('applies every migration once, also when the file is opened again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bslora-store-'));
    try {
      const path = join(dir, 'nested', 'bslora.db');
      openDatabase(path).close();
      const db = openDatabase(path);
      const versions = (
        db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]
      ).map((r) => r.version);
      expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SqlStatements', () => {
  it('reuses one prepared statement per SQL text, or prepares afresh when not caching', () => {
    const db = openDatabase(':memory:');
    const cached = new SqlStatements(db);
    expect(cached.prepare('SELECT 1')).toBe(cached.prepare('SELECT 1'));
    expect(cached.prepare('SELECT 1')).not.toBe(cached.prepare('SELECT 2'));
    const fresh = new SqlStatements(db, false);
    expect(fresh.prepare('SELECT 1')).not.toBe(fresh.prepare('SELECT 1'));
  });

  it('rolls a transaction back as a whole when it throws', () => {
    const { sql, sweeps } = tables();
    expect(() =>
      sql.inTransaction(() => {
        sweeps.insert({ id: 's1', name: 'n', spec: {} }, T0);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(sweeps.get('s1')).toBeUndefined();
  });
});

describe('SweepsTable', () => {
  it('keeps a final status final and stamps finished_at only on a final one', () => {
    const { sweeps } = tables();
    sweeps.insert({ id: 's1', name: 'n', spec: { a: 1 } }, T0);
    sweeps.setStatus('s1', 'running');
    expect(sweeps.get('s1')).toMatchObject({ status: 'running', finishedAt: null });
    expect(sweeps.unfinished().map((s) => s.id)).toEqual(['s1']);
    sweeps.setStatus('s1', 'cancelled', { why: 'user' });
    sweeps.setStatus('s1', 'running');
    const s = sweeps.get('s1')!;
    expect(s).toMatchObject({ status: 'cancelled', summary: { why: 'user' }, spec: { a: 1 }, source: null });
    expect(s.finishedAt).not.toBeNull();
    expect(sweeps.unfinished()).toEqual([]);
    expect(sweeps.countByStatus()).toEqual({ cancelled: 1 });
  });
});

describe('TrialsTable', () => {
  it('queues a failed trial again with its error cleared, and leaves a completed one completed', () => {
    const { sql, trials } = tables();
    trials.queue(plan('k1'), T0);
    trials.queue(plan('k2'), T0);
    trials.setStatus('k1', 'failed', 'OOM');
    trials.setStatus('k2', 'completed');
    expect(status(sql, 'k1')).toEqual({ status: 'failed', lastError: 'OOM' });
    trials.queue(plan('k1'), T0);
    trials.queue(plan('k2'), T0);
    expect(status(sql, 'k1')).toEqual({ status: 'queued', lastError: null });
    expect(status(sql, 'k2').status).toBe('completed');
  });

  it('lets a cancelled trial leave only by completing or being queued', () => {
    const { sql, trials } = tables();
    trials.queue(plan('k1'), T0);
    trials.setStatus('k1', 'cancelled', 'sweep cancelled');
    trials.setStatus('k1', 'running');
    trials.setStatus('k1', 'failed', 'late');
    expect(status(sql, 'k1')).toEqual({ status: 'cancelled', lastError: 'sweep cancelled' });
    trials.setStatus('k1', 'completed');
    expect(status(sql, 'k1').status).toBe('completed');
  });
});

describe('ResultsTable', () => {
  it('writes a result once, stores a non-finite loss as null, and answers the adapter digest', () => {
    const { sql, trials, results } = tables();
    trials.queue(plan('k1'), T0);
    expect(results.insertOnce('k1', result)).toBe(true);
    expect(results.insertOnce('k1', { ...result, adapterSha256: 'cd' })).toBe(false);
    expect(results.adapterSha256('k1')).toBe('ab');
    expect(results.adapterSha256('nope')).toBeNull();
    expect([...results.recordedKeys(['k1', 'k2'])]).toEqual(['k1']);
    expect(sql.db.prepare('SELECT initial_loss AS i, final_loss AS f FROM results').get()).toEqual({ i: null, f: 1 });
  });

  it('reads training wall times from the results that report one', () => {
    const { trials, results } = tables();
    for (const k of ['k1', 'k2']) trials.queue(plan(k), T0);
    results.insertOnce('k1', { ...result, train: { wallSeconds: 12.5 } });
    results.insertOnce('k2', result);
    expect(results.trainWallSeconds()).toEqual([12.5]);
  });

  it('averages accuracy over the evaluated tasks', () => {
    expect(
      meanAccuracy({ metrics: { a: { acc: 0.5, accNorm: 0, n: 1 }, b: { acc: 0.7, accNorm: 0, n: 1 } } }),
    ).toBeCloseTo(0.6);
    expect(meanAccuracy({ metrics: {} })).toBeNull();
    expect(meanAccuracy({ metrics: null })).toBeNull();
  });
});

describe('SweepTrialsTable', () => {
  it("counts a page of sweeps' trials by status, with zeros for sweeps without trials", () => {
    const { sweeps, trials, sweepTrials, results } = tables();
    for (const id of ['s1', 's2']) sweeps.insert({ id, name: 'n', spec: {} }, T0);
    ['k1', 'k2', 'k3'].forEach((k, i) => {
      trials.queue(plan(k), T0);
      sweepTrials.link('s1', k, i, false);
    });
    trials.setStatus('k2', 'running');
    results.insertOnce('k3', result);
    trials.setStatus('k3', 'completed');
    const counts = sweepTrials.statusCounts(['s1', 's2']);
    expect(counts.get('s1')).toEqual({
      total: 3,
      queued: 1,
      running: 1,
      completed: 1,
      failed: 0,
      cancelled: 0,
      stopped: 0,
    });
    expect(counts.get('s2')).toEqual({
      total: 0,
      queued: 0,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      stopped: 0,
    });
    expect(sweepTrials.resultCount('s1')).toBe(1);
    expect(sweepTrials.sweepsOfTrial('k1')).toEqual(['s1']);
    expect(sweepTrials.trialsOfSweep('s1').map((r) => [r.trialKey, r.status, r.result?.counts.total ?? null])).toEqual(
      [
        ['k1', 'queued', null],
        ['k2', 'running', null],
        ['k3', 'completed', 10],
      ],
    );
  });
});

describe('EventsTable and WebhookDeliveriesTable', () => {
  it('counts events by kind, and webhook attempts by outcome', () => {
    const { events, webhooks } = tables();
    events.add('s1', 'k1', 'attempt-failed', { failedReason: 'x' });
    events.add('s1', null, 'sweep-submitted', {});
    expect(events.count('s1', 'attempt-failed')).toBe(1);
    events.deleteOfSweep('s1');
    expect(events.count('s1', 'attempt-failed')).toBe(0);
    const attempt = {
      deliveryId: 'd',
      sweepId: 's1',
      url: 'http://x',
      event: 'e',
      statusCode: 200,
      error: null,
      durationMs: 2.6,
    };
    webhooks.record({ ...attempt, attempt: 1, ok: true });
    webhooks.record({ ...attempt, attempt: 2, ok: false });
    expect(webhooks.outcomeCounts()).toEqual({ ok: 1, failed: 1 });
    expect(webhooks.ofSweep('s1')[0].durationMs).toBe(3);
  });
});
