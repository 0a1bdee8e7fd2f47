import { describe, expect, it } from 'vitest';

type Facts = Record<string, unknown>;
// The dashboard's browser module, imported as statuses.test.ts does (it has no type declarations).
const { groupOf, groupStyle, trialFacts } = (await import(new URL('./static/format.js', import.meta.url).href)) as {
  groupOf: (method: string, plan: Facts) => string;
  groupStyle: (group: string) => { label: string; color: string };
  trialFacts: (json: Facts, method: string, config: Facts) => Facts;
};

describe('dashboard groups', () => {
  it('shows each grid.peft entry as its own series, peft:<name>, with a colour of its own', () => {
    const lokr = trialFacts({ name: 'peft-lokr-r8-s0', peft: { name: 'lokr-r8' } }, 'peft', { peftName: 'lokr-r8' });
    const vb = trialFacts({ name: 'peft-vblora-s0', peft: { name: 'vblora' } }, 'peft', { peftName: 'vblora' });
    expect(lokr.peftName).toBe('lokr-r8');
    expect(groupOf('peft', lokr)).toBe('peft:lokr-r8');
    expect(groupStyle('peft:lokr-r8').label).toBe('peft:lokr-r8');
    expect(groupStyle('peft:lokr-r8').color).not.toBe(groupStyle(groupOf('peft', vb)).color);
    expect(groupOf('bslora', trialFacts({}, 'bslora', { shareMode: 'kron' }))).toBe('bslora-kron');
  });
});
