/** Plain-text tables for the terminal (no colours, so piping and logs stay readable). */
export function renderTable(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}

export const fmtInt = (n: number | null | undefined) =>
  n === null || n === undefined ? null : n.toLocaleString('en-US');
export const fmtNum = (n: number | null | undefined, digits = 4) =>
  n === null || n === undefined ? null : n.toFixed(digits);
export const fmtPct = (n: number | null | undefined) =>
  n === null || n === undefined ? null : `${(100 * n).toFixed(1)}%`;
