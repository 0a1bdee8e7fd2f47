import { describe, expect, it } from 'vitest';
import { Store } from './store.js';

function sweep(store: Store, id: string, createdAt: string) {
  store.createSweep({ id, name: `n-${id}`, spec: {} }, [], new Set());
  store.db.prepare('UPDATE sweeps SET created_at = ? WHERE id = ?').run(createdAt, id);
}

describe('Store (API surfaces)', () => {
  it('pages sweeps newest first by cursor and by offset, with a total', () => {
    const store = new Store(':memory:');
    ['a', 'b', 'c', 'd', 'e'].forEach((id, i) => sweep(store, id, `2026-01-0${i + 1}T00:00:00.000Z`));
    store.setSweepStatus('c', 'cancelled');
    const first = store.listSweepsPage({ limit: 2 });
    expect(first.rows.map((r) => r.id)).toEqual(['e', 'd']);
    expect(first.total).toBe(5);
    const last = first.rows.at(-1)!;
    const second = store.listSweepsPage({ limit: 2, cursor: { createdAt: last.createdAt, id: last.id } });
    expect(second.rows.map((r) => r.id)).toEqual(['c', 'b']);
    expect(store.listSweepsPage({ limit: 2, offset: 4 }).rows.map((r) => r.id)).toEqual(['a']);
    expect(store.listSweepsPage({ limit: 10, status: 'cancelled' })).toMatchObject({ total: 1, rows: [{ id: 'c' }] });
  });

  it('remembers idempotency keys with their response, the first writer winning, and forgets them when old', () => {
    const store = new Store(':memory:');
    store.saveIdempotencyKey('k', 'h1', 's1', { id: 's1' });
    store.saveIdempotencyKey('k', 'h2', 's2', { id: 's2' });
    expect(store.findIdempotencyKey('k', 60_000)).toMatchObject({
      bodySha256: 'h1',
      sweepId: 's1',
      response: { id: 's1' },
    });
    store.db.prepare("UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000Z'").run();
    expect(store.findIdempotencyKey('k', 60_000)).toBeUndefined();
  });

  it('records a sweep source and every webhook attempt, and counts them for metrics', () => {
    const store = new Store(':memory:');
    sweep(store, 's1', '2026-01-01T00:00:00.000Z');
    store.setSweepSource('s1', {
      kind: 'github',
      event: 'push',
      deliveryId: 'd',
      repository: 'o/r',
      ref: 'refs/heads/main',
      sha: 'abc',
      spec: 'jobs/q.yaml',
    });
    expect(store.getSweep('s1')!.source).toMatchObject({ sha: 'abc' });
    const attempt = {
      deliveryId: 's1.0',
      sweepId: 's1',
      url: 'http://x',
      event: 'sweep.completed',
      statusCode: 500,
      error: 'HTTP 500',
      durationMs: 3,
    };
    store.recordWebhookAttempt({ ...attempt, attempt: 1, ok: false });
    store.recordWebhookAttempt({ ...attempt, attempt: 2, ok: true, statusCode: 200, error: null });
    expect(store.webhookDeliveries('s1').map((d) => [d.attempt, d.ok, d.statusCode])).toEqual([
      [1, false, 500],
      [2, true, 200],
    ]);
    expect(store.statusCounts()).toMatchObject({ sweeps: { queued: 1 }, webhookAttempts: { ok: 1, failed: 1 } });
    expect(store.isHealthy()).toBe(true);
    store.close();
    expect(store.isHealthy()).toBe(false);
  });
});
