import { describe, expect, it } from 'vitest';
import { pickLoraBaseline } from './lora-baseline.js';

const trial = (name: string, method: string, total: number | null) => ({ name, method, total });

describe('pickLoraBaseline', () => {
  it('picks the LoRA trial with the most trainable parameters, whatever the order', () => {
    const trials = [
      trial('r8', 'lora', 800),
      trial('bs', 'bslora', 5000),
      trial('r32', 'lora', 3200),
      trial('r16', 'lora', 1600),
    ];
    expect(pickLoraBaseline(trials, (t) => t.total)?.name).toBe('r32');
    expect(pickLoraBaseline([...trials].reverse(), (t) => t.total)?.name).toBe('r32');
  });

  it('skips LoRA trials without a count, and among equals keeps the first listed', () => {
    const trials = [trial('unfinished', 'lora', null), trial('seed0', 'lora', 800), trial('seed1', 'lora', 800)];
    expect(pickLoraBaseline(trials, (t) => t.total)?.name).toBe('seed0');
  });

  it('counts a LoRA trial with zero parameters rather than none', () => {
    expect(pickLoraBaseline([trial('zero', 'lora', 0)], (t) => t.total)?.name).toBe('zero');
  });

  it('has no baseline without a counted LoRA trial', () => {
    expect(pickLoraBaseline([trial('bs', 'bslora', 10), trial('r8', 'lora', null)], (t) => t.total)).toBeUndefined();
    expect(pickLoraBaseline([], () => 1)).toBeUndefined();
  });
});
