import { describe, expect, it } from 'vitest';
import { resultTable, type SweepDetail } from './sweep-view.js';

const result = (total: number) => ({ counts: { total }, finalLoss: 1, initialLoss: 2, meanAcc: 0.5 });

describe('resultTable', () => {
  it("shows each trial's adapter scale, blank where the method has none", () => {
    const sweep: SweepDetail = {
      id: 'sw',
      name: 'n',
      status: 'completed',
      trials: [
        {
          name: 'lora-r8-s0',
          method: 'lora',
          scale: 2,
          status: 'completed',
          reused: false,
          lastError: null,
          progress: null,
          result: result(100),
        },
        {
          name: 'bslora-slice-2/4/16-s0',
          method: 'bslora',
          scale: 16 / 22,
          status: 'completed',
          reused: false,
          lastError: null,
          progress: null,
          result: result(50),
        },
        {
          name: 'vera-r256-s0',
          method: 'vera',
          scale: null,
          status: 'completed',
          reused: false,
          lastError: null,
          progress: null,
          result: result(10),
        },
      ],
    };
    const lines = resultTable(sweep).split('\n');
    expect(lines[0]).toMatch(/^trial\s+method\s+scale\s+status/);
    const scaleOf = (row: string) => row.split(/\s{2,}/)[2];
    expect(scaleOf(lines[2]!)).toBe('2');
    expect(scaleOf(lines[3]!)).toBe('0.727');
    expect(scaleOf(lines[4]!)).toBe('-'); // renderTable's mark for an empty cell
  });
});
