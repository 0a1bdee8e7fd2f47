import { describe, expect, it } from 'vitest';
import { trialFixture } from '../sweep-specs/test-fixtures.js';
import { Store } from './store.js';
import { itemCorrectnessOf, recordItemCorrectness } from './item-correctness.js';
import { recordEvalResult } from '../recorder/result-recorder.js';
import { packItemBits, unpackItemBits } from '../stats/item-bits.js';

const plan = (key: string) => trialFixture({ key, name: `t-${key}`, method: 'lora' });

const train = {
  counts: { local: 8, intra: 0, inter: 0, transform: 0, total: 8 },
  initialLoss: 2,
  finalLoss: 1,
  adapterSha256: 'a'.repeat(64),
} as never;

describe('item correctness', () => {
  it('is recorded with the eval result and read back bit for bit; a second delivery changes nothing', () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's', name: 'n', spec: {} }, [plan('k1')], new Set());
    const flags = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1];
    const b64 = Buffer.from(packItemBits(flags)).toString('base64');
    const r = {
      trialKey: 'k1',
      train,
      metrics: { 'builtin:arith': { acc: 7 / 11, accNorm: 0.5, n: 11 } },
      error: null,
      itemCorrect: { 'builtin:arith': b64 },
    };
    recordEvalResult(store, 's', r);
    recordEvalResult(store, 's', {
      ...r,
      itemCorrect: { 'builtin:arith': Buffer.from(packItemBits(flags.map(() => 0))).toString('base64') },
    });
    const got = itemCorrectnessOf(store.db, ['k1', 'missing']);
    expect([...got.keys()]).toEqual(['k1']);
    const items = got.get('k1')!.get('builtin:arith')!;
    expect(items.n).toBe(11);
    expect(Array.from(unpackItemBits(items.bits, items.n))).toEqual(flags);
    expect(store.trialsOfSweep('s')[0]!.status).toBe('completed');
  });

  it('leaves out a task whose bits do not fit its item count, and refuses such a direct write', () => {
    const store = new Store(':memory:');
    store.createSweep({ id: 's', name: 'n', spec: {} }, [plan('k1')], new Set());
    const wrong = Buffer.from([1, 2, 3]).toString('base64');
    recordEvalResult(store, 's', {
      trialKey: 'k1',
      train,
      metrics: { t: { acc: 1, accNorm: 1, n: 8 } },
      error: null,
      itemCorrect: { t: wrong },
    });
    expect(itemCorrectnessOf(store.db, ['k1']).size).toBe(0);
    expect(store.trialsOfSweep('s')[0]!.result).not.toBeNull();
    expect(() => recordItemCorrectness(store.db, 'k1', { t: { n: 8, bits: new Uint8Array(3) } })).toThrow(
      /3 bytes of item bits for 8 items/,
    );
  });
});
