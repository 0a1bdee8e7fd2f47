/** The CLI's view of a successive-halving search: rungs, buckets, what stopped early, compute against the grid. */
import type { SearchView } from '../search/search-view.js';
import { fmtInt, fmtNum, fmtPct, renderTable } from './render-table.js';

export function searchTable(search: SearchView): string {
  const last = search.rungSteps.length - 1;
  const rungs = renderTable(
    ['rung', 'steps', 'configurations', 'kept', 'stopped early'],
    search.rungs.map((r) => [
      `${r.rung + 1}/${search.rungSteps.length}`,
      fmtInt(r.steps),
      fmtInt(r.configs),
      r.rung === last
        ? '(final)'
        : r.kept === null
          ? r.rung === search.currentRung
            ? 'running'
            : 'waiting'
          : fmtInt(r.kept),
      r.stopped === null ? null : fmtInt(r.stopped),
    ]),
  );
  const buckets = renderTable(
    ['bucket', 'trainable', 'configurations', 'finalists'],
    search.buckets.map((b) => [String(b.index + 1), b.label, fmtInt(b.configs), fmtInt(b.finalists)]),
  );
  const stopped = search.trials
    .filter((t) => t.stopped)
    .map((t) => {
      const loss = t.validationLoss[t.rung];
      return `  ${t.name}: stopped at rung ${t.rung + 1} (step ${t.steps})${loss === null || loss === undefined ? ', no validation loss (failed)' : `, validation loss ${fmtNum(loss)}`}`;
    });
  const c = search.compute;
  const compute =
    `compute: ${fmtInt(c.steps)} of the full grid's ${fmtInt(c.gridSteps)} train steps (${fmtPct(c.stepShare)}); ` +
    `${fmtNum(c.seconds, 1)} of ~${fmtNum(c.gridSeconds, 1)} train seconds (${fmtNum(c.deviceHours, 3)} of ~${fmtNum(c.gridDeviceHours, 3)} device-hours)`;
  return [
    `successive halving, eta ${search.eta}, rungs at steps ${search.rungSteps.join(', ')}:`,
    rungs,
    '',
    buckets,
    '',
    compute,
    ...(stopped.length ? ['', `stopped early (${stopped.length}):`, ...stopped] : []),
  ].join('\n');
}
