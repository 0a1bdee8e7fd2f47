/**
 * Follows a sweep until it ends. On a terminal it redraws a progress board in place (overall bar with ETA, a bar per
 * running trial); when output is not a terminal it prints a plain line whenever the progress changes.
 */
import { FINAL_SWEEP_STATUSES } from '../store/statuses.js';
import type { ApiClient } from './api-client.js';
import { renderProgressBoard } from './progress-board.js';
import { progressLine, type SweepDetail } from './sweep-view.js';

export async function waitForSweep(
  api: ApiClient,
  sweepId: string,
  out: { write(s: string): void; isTTY?: boolean },
  opts: { intervalMs?: number; quiet?: boolean } = {},
): Promise<SweepDetail> {
  let last = '';
  let drawn = 0;
  const started = Date.now();
  for (;;) {
    const sweep = await api.request<SweepDetail>('GET', `/api/v1/sweeps/${encodeURIComponent(sweepId)}`);
    if (!opts.quiet && out.isTTY) {
      const lines = renderProgressBoard(sweep, (Date.now() - started) / 1000);
      // Move up over the previous board, then rewrite every line (clearing leftovers).
      out.write(`${drawn ? `\x1b[${drawn}A` : ''}${lines.map((l) => `\r\x1b[K${l}`).join('\n')}\n`);
      drawn = lines.length;
    } else if (!opts.quiet) {
      const line = progressLine(sweep);
      if (line !== last) out.write(`${line}\n`);
      last = line;
    }
    if (FINAL_SWEEP_STATUSES.has(sweep.status)) return sweep;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}
