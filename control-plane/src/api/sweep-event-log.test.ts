/**
 * The per-sweep event log, on a control plane reduced to what it reads (its live feed and two store lookups): the
 * deltas it makes of the feed, its ids, what it can replay after an id, and how it spaces progress.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../control-plane.js';
import { LIVE_EVENT_NAMES } from '../dashboard/static/live-events.js';
import type { TrialRow } from '../store/store.js';
import { trialFixture } from '../sweep-specs/test-fixtures.js';
import { SweepEventLog, type SweepEvent } from './sweep-event-log.js';

function fakeControlPlane(rows: Record<string, Partial<TrialRow>> = {}) {
  const live = new EventEmitter();
  const row = (key: string): TrialRow => ({
    trialKey: key,
    name: `trial-${key}`,
    method: 'bslora',
    status: 'completed',
    lastError: null,
    reused: false,
    plan: trialFixture({ key, method: 'bslora', ranks: { local: 2, intra: 2, inter: 4 }, shareMode: 'slice' }),
    result: {
      counts: { total: 100 },
      initialLoss: 2,
      finalLoss: 1,
      train: {},
      metrics: { t: { acc: 0.5, accNorm: 0.5, n: 2 } },
      adapterSha256: null,
      meanAcc: 0.5,
      recordedAt: '',
    },
    ...rows[key],
  });
  const store = {
    trialOfSweep: (_sweepId: string, key: string) => row(key),
    getSweep: (id: string) => ({
      id,
      status: 'completed',
      finishedAt: '2026-11-29T00:00:00Z',
      summary: { completed: 2, failed: 0, loraBaseline: null, trials: [{}, {}] },
    }),
  };
  const cp = { live, store } as unknown as ControlPlane;
  const emit = (sweepId: string, kind: string, payload: unknown) => live.emit('event', { sweepId, kind, payload });
  return { cp, live, emit };
}

const logs: SweepEventLog[] = [];
afterEach(() => {
  for (const l of logs.splice(0)) l.close();
});
const newLog = (cp: ControlPlane, opts = {}) => {
  const log = new SweepEventLog(cp, opts);
  logs.push(log);
  return log;
};

describe('SweepEventLog', () => {
  it('turns the live feed into deltas: running once per trial, a finished trial with its row, the sweep with its totals', () => {
    const { cp, emit } = fakeControlPlane();
    const log = newLog(cp);
    const seen: SweepEvent[] = [];
    log.subscribe('sw-a', (e) => seen.push(e));
    emit('sw-a', 'trial-running', { trialKey: 'k1' });
    emit('sw-a', 'trial-running', { trialKey: 'k1' }); // the eval job reports running too
    emit('sw-b', 'trial-running', { trialKey: 'k9' }); // another sweep: not this subscriber's
    emit('sw-a', 'trial-finished', { trialKey: 'k1' });
    emit('sw-a', 'sweep-finished', {});
    expect(seen.map((e) => e.name)).toEqual(['trial-running', 'trial-finished', 'sweep-finished']);
    expect(seen[0].data).toEqual({ trialKey: 'k1', status: 'running' });
    expect(seen[1].data).toMatchObject({
      trialKey: 'k1',
      status: 'completed',
      row: { status: 'completed', trainable: 100, meanAcc: 0.5, accuracy: { t: 0.5 } },
    });
    expect(seen[2].data).toEqual({
      status: 'completed',
      finishedAt: '2026-11-29T00:00:00Z',
      summary: { completed: 2, failed: 0, loraBaseline: null },
    });
    for (const e of seen) expect(LIVE_EVENT_NAMES).toContain(e.name);
  });

  it('numbers events <epoch>-<n> with n increasing, and replays what came after an id', () => {
    const { cp, emit } = fakeControlPlane();
    const log = newLog(cp);
    const start = log.lastId();
    expect(start).toBe(`${log.epoch}-0`);
    for (const k of ['k1', 'k2', 'k3']) emit('sw-a', 'trial-running', { trialKey: k });
    emit('sw-b', 'trial-running', { trialKey: 'k4' });
    const all = log.since('sw-a', start)!;
    expect(all.map((e) => (e.data as { trialKey: string }).trialKey)).toEqual(['k1', 'k2', 'k3']);
    expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(all.map((e) => e.id)).toEqual([1, 2, 3].map((n) => `${log.epoch}-${n}`));
    expect(log.since('sw-a', all[1].id)!.map((e) => e.seq)).toEqual([3]);
    expect(log.since('sw-a', log.lastId())).toEqual([]);
    expect(log.since('sw-new', start)).toEqual([]); // nothing happened to it
    // Ids this log did not give out: another process's epoch, one from its future, or not an id at all.
    expect(log.since('sw-a', 'deadbeef-1')).toBeNull();
    expect(log.since('sw-a', `${log.epoch}-99`)).toBeNull();
    expect(log.since('sw-a', 'garbage')).toBeNull();
  });

  it('keeps a bounded number of events per sweep, and of sweeps: what it dropped it cannot replay', () => {
    const { cp, emit } = fakeControlPlane();
    const log = newLog(cp, { maxPerSweep: 3, maxSweeps: 2 });
    const start = log.lastId();
    for (let i = 0; i < 5; i++) emit('sw-a', 'trial-running', { trialKey: `k${i}` });
    expect(log.since('sw-a', start)).toBeNull();
    const kept = log.since('sw-a', `${log.epoch}-2`)!;
    expect(kept.map((e) => e.seq)).toEqual([3, 4, 5]);
    // Two more sweeps change: sw-a is the least recently changed, and its log goes.
    emit('sw-b', 'trial-running', { trialKey: 'x' });
    emit('sw-c', 'trial-running', { trialKey: 'y' });
    expect(log.since('sw-a', `${log.epoch}-2`)).toEqual([]);
  });

  it('sends progress at most every progressEveryMs per trial, the latest report winning, and none after the trial finished', async () => {
    const { cp, emit } = fakeControlPlane();
    const log = newLog(cp, { progressEveryMs: 80 });
    const seen: SweepEvent[] = [];
    log.subscribe('sw-a', (e) => seen.push(e));
    for (let step = 1; step <= 5; step++) emit('sw-a', 'trial-progress', { trialKey: 'k1', progress: { step } });
    emit('sw-a', 'trial-progress', { trialKey: 'k2', progress: { step: 1 } });
    expect(seen.map((e) => e.data)).toEqual([
      { trialKey: 'k1', progress: { step: 1 } },
      { trialKey: 'k2', progress: { step: 1 } },
    ]);
    await new Promise((r) => setTimeout(r, 150));
    expect(seen.map((e) => e.data).at(-1)).toEqual({ trialKey: 'k1', progress: { step: 5 } });
    expect(seen).toHaveLength(3);
    // Progress is not kept for replay: a snapshot carries the latest instead.
    expect(log.since('sw-a', `${log.epoch}-0`)).toEqual([]);
    // A report still waiting for its slot when the trial finishes is dropped.
    emit('sw-a', 'trial-progress', { trialKey: 'k3', progress: { step: 1 } });
    emit('sw-a', 'trial-progress', { trialKey: 'k3', progress: { step: 2 } });
    emit('sw-a', 'trial-finished', { trialKey: 'k3' });
    await new Promise((r) => setTimeout(r, 150));
    expect(seen.slice(3).map((e) => [e.name, (e.data as { progress?: unknown }).progress ?? null])).toEqual([
      ['trial-progress', { step: 1 }],
      ['trial-finished', null],
    ]);
  });

  it('stops following the control plane when closed', () => {
    const { cp, live } = fakeControlPlane();
    const before = live.listenerCount('event');
    const log = new SweepEventLog(cp);
    expect(live.listenerCount('event')).toBe(before + 1);
    log.close();
    expect(live.listenerCount('event')).toBe(before);
  });
});
