/**
 * A sweep's results as CSV (RFC 4180 quoting): one row per trial (`kind` trial), then one per configuration
 * (`kind` configuration: the trial columns hold seed means, and the interval columns are filled; its scale and
 * footprint columns are empty).
 */
import type { SweepSummary } from '../recorder/summarize-sweep.js';
import type { ConfigurationResults } from '../stats/configuration-results.js';
import type { TrialRow } from '../store/store.js';
import { FOOTPRINT_FIELDS } from '../recorder/serving-footprint.js';
import { trialScale } from '../sweep-specs/training-settings.js';

const quote = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function resultsCsv(rows: TrialRow[], summary: SweepSummary, configurations?: ConfigurationResults): string {
  const tasks = [...new Set(rows.flatMap((r) => Object.keys(r.result?.metrics ?? {})))].sort();
  const header = [
    'trial',
    'method',
    'status',
    'trainable',
    'local',
    'intra',
    'inter',
    'transform',
    'final_loss',
    'mean_acc',
    'lora_share',
    'acc_delta',
    'on_front',
    ...tasks.map((t) => `acc:${t}`),
    'scale',
    'trial_key',
    'kind',
    'seeds',
    'mean_acc_sd',
    'mean_acc_lo',
    'mean_acc_hi',
    'reference',
    'diff_vs_reference',
    'diff_lo',
    'diff_hi',
    'front_within_noise',
    ...tasks.flatMap((t) => [`acc_lo:${t}`, `acc_hi:${t}`]),
    ...FOOTPRINT_FIELDS.map((f) => f.column),
  ];
  const lines = [header.join(',')];
  rows.forEach((r, i) => {
    const s = summary.trials[i];
    const c = r.result?.counts ?? {};
    lines.push(
      [
        r.name,
        r.method,
        r.status,
        c.total,
        c.local,
        c.intra,
        c.inter,
        c.transform,
        r.result?.finalLoss,
        r.result?.meanAcc,
        s.loraShare,
        s.accDelta,
        s.onFront,
        ...tasks.map((t) => r.result?.metrics?.[t]?.acc),
        trialScale(r.plan),
        r.trialKey,
        'trial',
        1,
        ...new Array(9 + 2 * tasks.length - 1).fill(null),
        ...FOOTPRINT_FIELDS.map((f) => c[f.key]),
      ]
        .map(quote)
        .join(','),
    );
  });
  for (const k of configurations?.configurations ?? []) {
    const d = k.vsReference?.mean ?? null;
    lines.push(
      [
        k.name,
        k.method,
        `${k.seeds.length}/${k.planned} seeds`,
        k.trainable,
        null,
        null,
        null,
        null,
        null,
        k.mean?.mean,
        null,
        null,
        k.onFront,
        ...tasks.map((t) => k.tasks[t]?.mean),
        null,
        k.configKey,
        'configuration',
        k.seeds.length,
        k.mean?.sd,
        k.mean?.lo,
        k.mean?.hi,
        k.vsReference?.versus,
        d?.mean,
        d?.lo,
        d?.hi,
        k.frontNoise?.withinNoise,
        ...tasks.flatMap((t) => [k.tasks[t]?.lo, k.tasks[t]?.hi]),
        ...FOOTPRINT_FIELDS.map(() => null),
      ]
        .map(quote)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
