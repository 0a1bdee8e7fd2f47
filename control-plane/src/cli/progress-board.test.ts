import { describe, expect, it } from 'vitest';
import { bar, formatDuration, renderProgressBoard } from './progress-board.js';
import type { SweepDetail } from './sweep-view.js';

const trial = (name: string, status: string, progress: SweepDetail['trials'][number]['progress'] = null) => ({
  name,
  method: 'lora',
  status,
  reused: false,
  lastError: null,
  progress,
  result: null,
});

describe('renderProgressBoard', () => {
  it('shows overall progress with an ETA and a bar per running trial', () => {
    const sweep: SweepDetail = {
      id: 's',
      name: 'demo',
      status: 'running',
      trials: [
        trial('a', 'completed'),
        trial('b', 'running', { phase: 'train', step: 5, totalSteps: 10, loss: 1.2345 }),
        trial('c', 'queued'),
      ],
    };
    const lines = renderProgressBoard(sweep, 60);
    // done: 1 + 0.45 + 0 of 3 trials = 48 %; ETA = 60/0.483 * 0.517 ≈ 64 s
    expect(lines[0]).toContain(' 48%');
    expect(lines[0]).toContain('1/3 trials');
    expect(lines[0]).toContain('ETA 01:04');
    expect(lines[1]).toMatch(/^ {2}b .*train 5\/10 {2}loss 1\.234/);
    expect(lines[2]).toMatch(/^ {2}c +queued$/);
    expect(lines[3]).toMatch(/^ {2}a +completed$/);
  });

  it('has no ETA before any progress, and caps the trial lines', () => {
    const trials = Array.from({ length: 20 }, (_, i) => trial(`t${i}`, 'queued'));
    const lines = renderProgressBoard({ id: 's', name: 'big', status: 'queued', trials }, 5, 12);
    expect(lines[0]).toContain('ETA --:--');
    expect(lines).toHaveLength(1 + 12 + 1);
    expect(lines.at(-1)).toContain('8 more');
  });

  it('draws bars and durations', () => {
    expect(bar(0.5, 10)).toBe('[#####-----]');
    expect(bar(2, 4)).toBe('[####]');
    expect(formatDuration(3725)).toBe('1h02m');
    expect(formatDuration(null)).toBe('--:--');
  });
});
