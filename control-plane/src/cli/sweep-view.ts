/** How a sweep and its results are shown: the result table and the one-line progress of a running sweep. */
import { pickLoraBaseline } from '../recorder/lora-baseline.js';
import { isUnfinished } from '../store/statuses.js';
import { fmtInt, fmtNum, fmtPct, renderTable } from './render-table.js';
import type { SearchView } from '../search/search-view.js';
import { searchTable } from './search-view.js';

export interface SweepDetail {
  id: string;
  name: string;
  status: string;
  trials: {
    name: string;
    method: string;
    /** The adapter scale s the trial trains at (null for vera and base; absent from older control planes). */
    scale?: number | null;
    status: string;
    reused: boolean;
    lastError: string | null;
    /** A peft trial's `grid.peft` entry, shown as its method (`peft:lokr-r8`). */
    peftName?: string | null;
    progress: { phase?: string; step?: number; totalSteps?: number; loss?: number | null } | null;
    result: {
      counts: Record<string, number>;
      finalLoss: number | null;
      initialLoss: number | null;
      meanAcc: number | null;
    } | null;
  }[];
  /** A successive-halving search's rungs and compute (absent from older control planes; null without a search). */
  search?: SearchView | null;
}

export function resultTable(sweep: SweepDetail): string {
  const lora = pickLoraBaseline(sweep.trials, (t) => t.result?.counts.total);
  // The untuned model's accuracy (mean over its seeds): each trial's gain over it gets a column when there is one.
  const bases = sweep.trials
    .filter((t) => t.method === 'base' && t.result?.meanAcc != null)
    .map((t) => t.result!.meanAcc!);
  const baseAcc = bases.length ? bases.reduce((a, b) => a + b, 0) / bases.length : null;
  const rows = sweep.trials.map((t) => {
    const acc = t.result?.meanAcc ?? null;
    const row = [
      t.name,
      t.method === 'peft' && t.peftName ? `peft:${t.peftName}` : t.method,
      t.scale === null || t.scale === undefined ? null : fmtScale(t.scale),
      t.status + (t.reused ? ' (reused)' : ''),
      fmtInt(t.result?.counts.total),
      lora && t.result ? fmtPct(t.result.counts.total / lora.result!.counts.total) : null,
      fmtNum(t.result?.initialLoss),
      fmtNum(t.result?.finalLoss),
      acc === null ? null : fmtPct(acc),
    ];
    return baseAcc === null ? row : [...row, acc === null || t.method === 'base' ? null : fmtPoints(acc - baseAcc)];
  });
  const header = [
    'trial',
    'method',
    'scale',
    'status',
    'trainable',
    'of LoRA',
    'first loss',
    'final loss',
    'mean acc',
    ...(baseAcc === null ? [] : ['vs base']),
  ];
  const table = renderTable(header, rows);
  const errors = sweep.trials
    .filter((t) => t.lastError && t.status !== 'completed' && t.status !== 'stopped')
    .map((t) => `  ${t.name}: ${t.lastError}`);
  const search = sweep.search ? `\n\n${searchTable(sweep.search)}` : '';
  return (errors.length ? `${table}\n\nfailed trials:\n${errors.join('\n')}` : table) + search;
}

/** A difference of accuracies (0–1) in signed points: `+45.0 pt`. */
const fmtPoints = (d: number) => `${d >= 0 ? '+' : '-'}${Math.abs(100 * d).toFixed(1)} pt`;

/** A scale as a short number: 2, 0.727, 3.54. */
function fmtScale(s: number): string {
  return String(Number(s.toPrecision(3)));
}

export function progressLine(sweep: SweepDetail): string {
  const done = sweep.trials.filter((t) => !isUnfinished(t.status)).length;
  const running = sweep.trials
    .filter((t) => t.status === 'running' && t.progress)
    .map(
      (t) =>
        `${t.name} ${t.progress!.phase ?? ''} ${t.progress!.step}/${t.progress!.totalSteps}${t.progress!.loss != null ? ` loss ${t.progress!.loss.toFixed(3)}` : ''}`,
    );
  const s = sweep.search;
  const rung =
    s && s.currentRung < s.rungSteps.length
      ? ` (rung ${s.currentRung + 1}/${s.rungSteps.length}, step ${s.rungSteps[s.currentRung]})`
      : '';
  return `[${sweep.id}] ${sweep.status}${rung}: ${done}/${sweep.trials.length} trials done${running.length ? ` | ${running.join(', ')}` : ''}`;
}
