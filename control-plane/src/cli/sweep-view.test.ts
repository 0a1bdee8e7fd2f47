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
