/** A small writer of the Prometheus text exposition format (0.0.4): HELP and TYPE once per family, escaped labels. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Record<string, string | number>;

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function fmtValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function fmtLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(',')}}` : '';
}

export class PrometheusText {
  private readonly lines: string[] = [];

  /** Starts a metric family. */
  family(name: string, type: 'counter' | 'gauge' | 'histogram' | 'summary', help: string): this {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    this.lines.push(`${name}${fmtLabels(labels)} ${fmtValue(value)}`);
    return this;
  }

  /** The samples of one histogram series from raw observations (`le` buckets cumulative, then +Inf, sum, count). */
  histogram(name: string, buckets: readonly number[], observations: readonly number[], labels?: Labels): this {
    const sorted = [...observations].sort((a, b) => a - b);
    let i = 0;
    for (const le of buckets) {
      while (i < sorted.length && sorted[i] <= le) i++;
      this.sample(`${name}_bucket`, i, { ...labels, le: fmtValue(le) });
    }
    this.sample(`${name}_bucket`, sorted.length, { ...labels, le: '+Inf' });
    this.sample(
      `${name}_sum`,
      sorted.reduce((a, b) => a + b, 0),
      labels,
    );
    return this.sample(`${name}_count`, sorted.length, labels);
  }

  /** The samples of a histogram series kept as cumulative bucket counts. */
  histogramCounts(
    name: string,
    buckets: readonly number[],
    counts: readonly number[],
    sum: number,
    count: number,
    labels?: Labels,
  ): this {
    buckets.forEach((le, i) => this.sample(`${name}_bucket`, counts[i], { ...labels, le: fmtValue(le) }));
    this.sample(`${name}_bucket`, count, { ...labels, le: '+Inf' });
    this.sample(`${name}_sum`, sum, labels);
    return this.sample(`${name}_count`, count, labels);
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
