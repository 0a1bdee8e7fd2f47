import { describe, expect, it } from 'vitest';
import type { MethodName, Trial } from '../sweep-specs/index.js';
import { trialFixture } from '../sweep-specs/test-fixtures.js';
import { Store } from './store.js';

function plan(key: string, method: MethodName = 'lora'): Trial {
  return trialFixture({ key, name: `t-${key}`, method });
}

const result = (total: number) => ({
  counts: { local: total, intra: 0, inter: 0, transform: 0, total },
  initialLoss: 2,
  finalLoss: 1,
  train: {},
  metrics: { a: { acc: 0.5, accNorm: 0.4, n: 10 }, b: { acc: 0.7, accNorm: 0.6, n: 10 } },
  adapterSha256: 'f'.repeat(64),
});

describe('Store', () => {
  it('records a sweep with its trials and reads them back in order', () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's1', name: 'n', spec: { a: 1 } }, [plan('k1'), plan('k2', 'bslora')], new Set());
    const rows = store.trialsOfSweep('s1');
    expect(rows.map((r) => r.trialKey)).toEqual(['k1', 'k2']);
    expect(rows.every((r) => r.status === 'queued' && r.result === null)).toBe(true);
    expect(store.getSweep('s1')!.spec).toEqual({ a: 1 });
  });

  it('records a result once and computes the mean accuracy', () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's1', name: 'n', spec: {} }, [plan('k1')], new Set());
    expect(store.recordResult('k1', result(100))).toBe(true);
    expect(store.recordResult('k1', result(999))).toBe(false); // a duplicate delivery changes nothing
    const [row] = store.trialsOfSweep('s1');
    expect(row.status).toBe('completed');
    expect(row.result!.counts.total).toBe(100);
    expect(row.result!.meanAcc).toBeCloseTo(0.6);
  });

  it('keeps a completed trial completed when a late failure arrives', () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's1', name: 'n', spec: {} }, [plan('k1')], new Set());
    store.recordResult('k1', result(1));
    store.setTrialStatus('k1', 'failed', 'late duplicate');
    expect(store.trialsOfSweep('s1')[0].status).toBe('completed');
  });

  it('reports finished keys for reuse and marks reused trials in a later sweep', () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's1', name: 'n', spec: {} }, [plan('k1'), plan('k2')], new Set());
    store.recordResult('k1', result(1));
    const finished = store.finishedTrialKeys(['k1', 'k2', 'k3']);
    expect([...finished]).toEqual(['k1']);
    store.createSweep({ id: 's2', name: 'n', spec: {} }, [plan('k1'), plan('k2')], finished);
    const rows = store.trialsOfSweep('s2');
    expect(rows.map((r) => [r.trialKey, r.reused, r.status])).toEqual([
      ['k1', true, 'completed'],
      ['k2', false, 'queued'],
    ]);
  });

  it('rolls a sweep back without touching trials other sweeps share', () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's1', name: 'n', spec: {} }, [plan('k1')], new Set());
    store.createSweep({ id: 's2', name: 'n', spec: {} }, [plan('k1')], new Set());
    store.deleteSweep('s2');
    expect(store.getSweep('s2')).toBeUndefined();
    expect(store.trialsOfSweep('s1')).toHaveLength(1);
  });

  it('refuses a second sweep with the same id as a whole, leaving nothing partial', () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's1', name: 'n', spec: {} }, [plan('k1')], new Set());
    expect(() => store.createSweep({ id: 's1', name: 'n', spec: {} }, [plan('k9')], new Set())).toThrow();
    expect(store.trialsOfSweep('s1').map((r) => r.trialKey)).toEqual(['k1']);
    expect(store.finishedTrialKeys(['k9']).size).toBe(0);
  });

  it("answers a finished trial's adapter digest and a sweep's result and event counts (what code once read with SQL)", () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's1', name: 'n', spec: {} }, [plan('k1'), plan('k2')], new Set());
    store.recordResult('k1', result(1));
    store.addEvent('s1', 'k2', 'attempt-failed', { failedReason: 'x' });
    expect(store.adapterSha256Of('k1')).toBe('f'.repeat(64));
    expect(store.adapterSha256Of('k2')).toBeNull();
    expect(store.resultCountOfSweep('s1')).toBe(1);
    expect(store.eventCount('s1', 'attempt-failed')).toBe(1);
    expect(store.eventCount('s1', 'sweep-finished')).toBe(0);
  });
});
