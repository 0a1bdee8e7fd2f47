/** How the verdicts of a sweep's `expect` rules are shown, and the exit status they imply. */
import { ControlPlaneError } from '../errors.js';

export interface ExpectSummary {
  expect?: { name: string; passed: boolean; message: string }[];
  expectPassed?: boolean | null;
}

/** One line per rule (`PASS`/`FAIL`, name, the numbers), or '' without rules. */
export function expectLines(summary: ExpectSummary | null | undefined): string {
  const rules = summary?.expect ?? [];
  if (rules.length === 0) return '';
  return `expect:\n${rules.map((v) => `  ${v.passed ? 'PASS' : 'FAIL'}  ${v.name}: ${v.message}`).join('\n')}`;
}

/**
 * The error a finished sweep ends a `--wait` with (exit 1), or null on success: failed `expect` rules first, since
 * they are what CI asked about, then failed or cancelled trials.
 */
export function sweepOutcomeError(sweep: { id: string; status: string; summary?: unknown }): ControlPlaneError | null {
  const summary = (sweep.summary ?? null) as ExpectSummary | null;
  const failedRules = (summary?.expect ?? []).filter((v) => !v.passed);
  if (failedRules.length > 0) {
    return new ControlPlaneError(
      'CP_ERR_EXPECT_FAILED',
      `sweep ${sweep.id} ended ${sweep.status}; ${failedRules.length} of ${summary!.expect!.length} expect rules failed: ${failedRules.map((v) => v.name).join('; ')}`,
    );
  }
  if (sweep.status !== 'completed')
    return new ControlPlaneError('CP_ERR_TRIALS_FAILED', `sweep ${sweep.id} ended ${sweep.status}`);
  return null;
}
