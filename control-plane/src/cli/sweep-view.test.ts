import { describe, expect, it } from 'vitest';
import { resultTable, type SweepDetail } from './sweep-view.js';

const trial = (
  name: string,
  method: string,
  total: number,
  meanAcc: number | null,
): SweepDetail['trials'][number] => ({
  name,
  method,
  scale: null,
  status: 'completed',
  reused: false,
  lastError: null,
  progress: null,
  result: { counts: { total }, initialLoss: 1.8, finalLoss: 0.3, meanAcc },
});

describe('resultTable', () => {
  it("shows each trial's gain over the base model when the sweep has one", () => {
    const table = resultTable({
      id: 'sw-1',
      name: 'demo',
      status: 'completed',
      trials: [
        trial('base-s0', 'base', 0, 0.355),
        trial('lora-r8-s0', 'lora', 1_658_880, 0.81),
        trial('bslora-slice-2/2/2-s0', 'bslora', 605_184, 0.3),
      ],
    });
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/mean acc\s+vs base$/);
    expect(lines.find((l) => l.startsWith('base-s0'))).toMatch(/35\.5%\s+-$/);
    expect(lines.find((l) => l.startsWith('lora-r8-s0'))).toMatch(/81\.0%\s+\+45\.5 pt$/);
    expect(lines.find((l) => l.startsWith('bslora-slice'))).toMatch(/30\.0%\s+-5\.5 pt$/);
  });

  it('has no base column without a base trial', () => {
    const table = resultTable({
      id: 'sw-1',
      name: 'demo',
      status: 'completed',
      trials: [trial('lora-r8-s0', 'lora', 100, 0.5)],
    });
    expect(table.split('\n')[0]).toMatch(/mean acc$/);
  });
});

const result = (total: number) => ({ counts: { total }, finalLoss: 1, initialLoss: 2, meanAcc: 0.5 });

describe('resultTable scale column', () => {
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
