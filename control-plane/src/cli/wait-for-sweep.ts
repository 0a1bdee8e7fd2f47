/** Follows a sweep until it ends, printing progress: a rewritten line on a terminal, plain lines otherwise. */
import type { ApiClient } from './api-client.js';
import { progressLine, type SweepDetail } from './sweep-view.js';

const FINAL = new Set(['completed', 'completed_with_failures', 'cancelled']);

export async function waitForSweep(
  api: ApiClient,
  sweepId: string,
  out: { write(s: string): void; isTTY?: boolean },
  opts: { intervalMs?: number; quiet?: boolean } = {},
): Promise<SweepDetail> {
  let last = '';
  for (;;) {
    const sweep = await api.request<SweepDetail>('GET', `/api/v1/sweeps/${encodeURIComponent(sweepId)}`);
    const line = progressLine(sweep);
    if (!opts.quiet && line !== last) {
      out.write(out.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
      last = line;
    }
    if (FINAL.has(sweep.status)) {
      if (!opts.quiet && out.isTTY) out.write('\n');
      return sweep;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}
