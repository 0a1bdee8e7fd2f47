/**
 * The configuration-level table of `bslora sweep results` and `bslora compare`: `mean ± half-width (n)` per
 * configuration.
 */
import type { ConfigurationResults } from '../stats/configuration-results.js';
import { formatDifference, formatInterval } from '../stats/configuration-results.js';
import { fmtInt, renderTable } from './render-table.js';

export function configurationTable(results: ConfigurationResults): string {
  const tasks = [...new Set(results.configurations.flatMap((c) => Object.keys(c.tasks)))].sort();
  const pct = `${Math.round(results.confidence * 100)}%`;
  const rows = results.configurations.map((c) => [
    c.name,
    c.method,
    `${c.seeds.length}/${c.planned}`,
    fmtInt(c.trainable),
    formatInterval(c.mean),
    ...(tasks.length > 1 ? tasks.map((t) => formatInterval(c.tasks[t] ?? null)) : []),
    c.name === results.reference ? '(reference)' : formatDifference(c.vsReference?.mean ?? null),
    c.onFront ? (c.frontNoise?.withinNoise ? 'yes (within noise)' : 'yes') : '',
  ]);
  const header = [
    'configuration',
    'method',
    'seeds',
    'trainable',
    `mean acc ± ${pct} CI (n)`,
    ...(tasks.length > 1 ? tasks.map((t) => `acc ${t}`) : []),
    results.reference ? `vs ${results.reference} [${pct} CI]` : 'vs reference',
    'front',
  ];
  return renderTable(header, rows);
}
