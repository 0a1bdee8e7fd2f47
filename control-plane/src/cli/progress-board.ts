/**
 * The progress view of a running sweep on a terminal: one overall bar with an ETA, then one line per trial (a bar
 * with step, loss and ETA while it trains; its state otherwise). Pure: `waitForSweep` redraws it in place.
 */
import { isUnfinished } from '../store/statuses.js';
import type { SweepDetail } from './sweep-view.js';

export function bar(fraction: number, width: number): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
}

/** Fraction of a trial's work done: training counts for 90 %, evaluation for the rest. */
function trialFraction(t: SweepDetail['trials'][number]): number {
  if (!isUnfinished(t.status)) return 1;
  const p = t.progress;
  if (!p?.totalSteps) return 0;
  const f = (p.step ?? 0) / p.totalSteps;
  return p.phase === 'eval' ? 0.9 + 0.1 * f : 0.9 * f;
}

export function renderProgressBoard(sweep: SweepDetail, elapsedSeconds: number, maxTrials = 12): string[] {
  const n = sweep.trials.length || 1;
  const fraction = sweep.trials.reduce((a, t) => a + trialFraction(t), 0) / n;
  const eta = fraction > 0.02 ? (elapsedSeconds / fraction) * (1 - fraction) : null;
  const done = sweep.trials.filter((t) => !isUnfinished(t.status)).length;
  const lines = [
    `${sweep.name} ${bar(fraction, 30)} ${(100 * fraction).toFixed(0).padStart(3)}%  ${done}/${sweep.trials.length} trials  ` +
      `elapsed ${formatDuration(elapsedSeconds)}  ETA ${formatDuration(eta)}`,
  ];
  const width = Math.max(...sweep.trials.map((t) => t.name.length), 5);
  // Running trials first, then waiting ones, then finished ones, so the lines that move stay on screen.
  const order = (s: string) => (s === 'running' ? 0 : s === 'queued' ? 1 : 2);
  const shown = [...sweep.trials].sort((a, b) => order(a.status) - order(b.status)).slice(0, maxTrials);
  for (const t of shown) {
    const p = t.progress;
    let detail: string;
    if (t.status === 'running' && p?.totalSteps) {
      const loss = p.loss != null ? `  loss ${p.loss.toFixed(3)}` : '';
      const tEta = (p as { etaSeconds?: number | null }).etaSeconds ?? null;
      detail = `${bar(trialFraction(t), 20)} ${p.phase ?? 'train'} ${p.step}/${p.totalSteps}${loss}  ETA ${formatDuration(tEta)}`;
    } else {
      detail =
        t.status +
        (t.reused ? ' (reused)' : '') +
        (t.lastError && t.status === 'failed' ? `: ${t.lastError.slice(0, 60)}` : '');
    }
    lines.push(`  ${t.name.padEnd(width)}  ${detail}`);
  }
  if (sweep.trials.length > shown.length) lines.push(`  … ${sweep.trials.length - shown.length} more`);
  return lines;
}
