import { describe, expect, it } from 'vitest';
import { paramsAccuracySvg, type ChartResults } from './params-accuracy-svg.js';

const results: ChartResults = {
  sweepId: 'sw-chart',
  loraBaseline: 'lora-r8-s0',
  trials: [
    { name: 'base-s0', method: 'base', trainable: 0, meanAcc: 0.355, onFront: false, config: null },
    {
      name: 'lora-r8-s0',
      method: 'lora',
      trainable: 1_658_880,
      meanAcc: 0.81,
      onFront: true,
      config: { rank: 8, ranks: null, shareMode: null },
    },
    {
      name: '<script>x</script>',
      method: 'bslora',
      trainable: 605_184,
      meanAcc: 0.815,
      onFront: true,
      config: { rank: null, ranks: { local: 2, intra: 2, inter: 2 }, shareMode: 'slice' },
    },
    {
      name: 'k',
      method: 'bslora',
      trainable: 429_136,
      meanAcc: 0.795,
      onFront: true,
      config: { rank: null, ranks: { local: 2, intra: 2, inter: 3 }, shareMode: 'kron' },
    },
    {
      name: 'running',
      method: 'bslora',
      trainable: null,
      meanAcc: null,
      onFront: false,
      config: { rank: null, ranks: { local: 1, intra: 1, inter: 1 }, shareMode: 'gate' },
    },
  ],
};

describe('paramsAccuracySvg', () => {
  const svg = paramsAccuracySvg(results, { title: 'demo: parameters against accuracy' });

  it('is a standalone SVG document with the title, axes, legend and reference lines', () => {
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    for (const text of [
      'demo: parameters against accuracy',
      'trainable parameters (log)',
      'mean accuracy',
      'LoRA (baseline)',
      'BSLoRA slice',
      'BSLoRA kron',
      'Pareto front',
      'base model 35.5%',
      'LoRA accuracy 81.0%',
    ]) {
      expect(svg, text).toContain(text);
    }
  });

  it('labels points with their ranks and leaves out trials without a result and series without points', () => {
    expect(svg).toContain('>2/2/2<');
    expect(svg).toContain('>2/2/3<');
    expect(svg).toContain('>r8<');
    expect(svg).not.toContain('1/1/1');
    expect(svg).not.toContain('BSLoRA gate');
  });

  it('keeps trial names out of the picture', () => {
    expect(svg).not.toContain('script');
  });

  it('draws an empty sweep without failing', () => {
    expect(paramsAccuracySvg({ sweepId: 'sw-0', loraBaseline: null, trials: [] })).toContain('</svg>');
  });
});
