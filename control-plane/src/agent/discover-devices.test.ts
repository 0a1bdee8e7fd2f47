import { describe, expect, it } from 'vitest';
import { resolveDevices } from './discover-devices.js';

describe('resolveDevices', () => {
  it('asks the worker Python for its devices on auto (the CPU on a machine without CUDA)', async () => {
    const devices = await resolveDevices('auto');
    expect(devices.length).toBeGreaterThan(0);
    expect(devices.every((d) => d === 'cpu' || /^cuda:\d+$/.test(d))).toBe(true);
  }, 60_000);

  it('keeps an explicit list as given', async () => {
    expect(await resolveDevices('cuda:0, cuda:1')).toEqual(['cuda:0', 'cuda:1']);
  });
});
