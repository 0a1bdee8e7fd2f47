import { describe, expect, it } from 'vitest';
import { resultsCsv } from '../api/results-csv.js';
import type { ParameterCounts } from '../gen/bslora_api/worker/v1/worker_service.js';
import type { TrialRow } from '../store/store.js';
import { FOOTPRINT_FIELDS, flatCounts } from './serving-footprint.js';
import { summarizeSweep } from './summarize-sweep.js';

const COUNTS: ParameterCounts = {
  local: 100,
  intra: 20,
  inter: 10,
  transform: 4,
  total: 134,
  baseTotal: 5000,
  head: 0,
  footprint: {
    adapterFileBytes: 1064,
    residentBytesBf16: 268,
    residentBytesFp32: 536,
    mergedResidentBytesBf16: 900,
    mergedResidentBytesFp32: 1800,
    adaptersPerGib: 2 ** 30 / 268,
  },
};

describe('flatCounts', () => {
  it('keeps the part counts and puts every footprint field beside them', () => {
    const flat = flatCounts(COUNTS);
    expect(flat).toEqual({
      local: 100,
      intra: 20,
      inter: 10,
      transform: 4,
      total: 134,
      baseTotal: 5000,
      head: 0,
      ...COUNTS.footprint,
    });
    expect(Object.values(flat).every((v) => typeof v === 'number')).toBe(true);
  });

  it('leaves the footprint out when the worker sent none', () => {
    const flat = flatCounts({ ...COUNTS, footprint: undefined });
    expect(Object.keys(flat)).not.toContain('residentBytesBf16');
    expect(flat.total).toBe(134);
  });
});

describe('resultsCsv', () => {
  it('ends each row with the footprint columns, empty for a trial without a result', () => {
    const withResult: TrialRow = {
      trialKey: 'k1',
      name: 'bslora-a',
      method: 'bslora',
      status: 'completed',
      lastError: null,
      reused: false,
      plan: {} as TrialRow['plan'],
      result: {
        counts: flatCounts(COUNTS),
        initialLoss: 2,
        finalLoss: 1,
        train: {},
        metrics: null,
        adapterSha256: null,
        meanAcc: 0.5,
        recordedAt: '',
      },
    };
    const pending: TrialRow = {
      ...withResult,
      trialKey: 'k2',
      name: 'lora-b',
      method: 'lora',
      status: 'queued',
      result: null,
    };
    const rows = [withResult, pending];
    const [header, first, second] = resultsCsv(rows, summarizeSweep(rows)).trim().split('\n');
    const columns = header.split(',');
    expect(columns.slice(-FOOTPRINT_FIELDS.length)).toEqual([
      'adapter_file_bytes',
      'resident_bytes_bf16',
      'resident_bytes_fp32',
      'merged_resident_bytes_bf16',
      'merged_resident_bytes_fp32',
      'adapters_per_gib',
    ]);
    const cells = first.split(',');
    expect(cells.slice(-FOOTPRINT_FIELDS.length).map(Number)).toEqual([1064, 268, 536, 900, 1800, 2 ** 30 / 268]);
    expect(second.split(',').slice(-FOOTPRINT_FIELDS.length)).toEqual(['', '', '', '', '', '']);
  });
});
