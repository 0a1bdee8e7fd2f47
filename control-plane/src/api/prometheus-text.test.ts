import { describe, expect, it } from 'vitest';
import { PrometheusText } from './prometheus-text.js';

describe('PrometheusText', () => {
  it('writes HELP and TYPE once per family and escapes label values', () => {
    const text = new PrometheusText()
      .family('x_total', 'counter', 'a help\nline')
      .sample('x_total', 3, { route: 'a"b\\c\nd' })
      .toString();
    expect(text).toBe('# HELP x_total a help\\nline\n# TYPE x_total counter\nx_total{route="a\\"b\\\\c\\nd"} 3\n');
  });

  it('writes cumulative histogram buckets with +Inf, sum and count', () => {
    const text = new PrometheusText().family('d', 'histogram', 'h').histogram('d', [1, 5], [0.5, 2, 7, 1]).toString();
    expect(text.split('\n').slice(2, 7)).toEqual([
      'd_bucket{le="1"} 2',
      'd_bucket{le="5"} 3',
      'd_bucket{le="+Inf"} 4',
      'd_sum 10.5',
      'd_count 4',
    ]);
  });
});
