/** A sweep's results as CSV (RFC 4180 quoting), one row per trial. */
import type { SweepSummary } from '../recorder/summarize-sweep.js';
import type { TrialRow } from '../store/store.js';
import { FOOTPRINT_FIELDS } from '../recorder/serving-footprint.js';
import { trialScale } from '../sweep-specs/training-settings.js';

const quote = (v: unknown): string => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function resultsCsv(rows: TrialRow[], summary: SweepSummary): string {
  const tasks = [...new Set(rows.flatMap((r) => Object.keys(r.result?.metrics ?? {})))].sort();
  const header = ['trial', 'method', 'status', 'trainable', 'local', 'intra', 'inter', 'transform', 'final_loss', 'mean_acc',
    'lora_share', 'acc_delta', 'on_front', ...tasks.map((t) => `acc:${t}`), 'scale', 'trial_key', ...FOOTPRINT_FIELDS.map((f) => f.column)];
  const lines = [header.join(',')];
  rows.forEach((r, i) => {
    const s = summary.trials[i];
    const c = r.result?.counts ?? {};
    lines.push(
      [r.name, r.method, r.status, c.total, c.local, c.intra, c.inter, c.transform, r.result?.finalLoss, r.result?.meanAcc,
        s.loraShare, s.accDelta, s.onFront, ...tasks.map((t) => r.result?.metrics?.[t]?.acc), trialScale(r.plan), r.trialKey,
        ...FOOTPRINT_FIELDS.map((f) => c[f.key])]
        .map(quote)
        .join(','),
    );
  });
  return `${lines.join('\n')}\n`;
}
