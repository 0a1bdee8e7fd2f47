/** The JSON body of a sweep's outgoing webhook: its outcome, summary, `expect` verdicts and links. */
import type { SweepRow, TrialRow } from '../store/store.js';
import type { NOTIFY_EVENTS } from '../sweep-specs/index.js';
import { summarizeSweep } from '../recorder/summarize-sweep.js';
import { expectVerdictsOf } from '../recorder/expect-verdicts.js';
import type { SweepSpec } from '../sweep-specs/index.js';
import type { TaskItems } from '../store/item-correctness.js';
import { configurationResults } from '../stats/configuration-results.js';

export type SweepOutcome = (typeof NOTIFY_EVENTS)[number];

/**
 * The outcome a webhook reports: the sweep's final status, except that a sweep in which no trial completed and
 * some failed is `failed`. `null` while the sweep still runs.
 */
export function sweepOutcome(sweep: SweepRow, rows: readonly TrialRow[]): SweepOutcome | null {
  if (sweep.status === 'completed' || sweep.status === 'cancelled') return sweep.status;
  if (sweep.status !== 'completed_with_failures') return null;
  const completed = rows.filter((r) => r.status === 'completed').length;
  return completed === 0 ? 'failed' : 'completed_with_failures';
}

export interface WebhookPayload {
  event: `sweep.${SweepOutcome}`;
  deliveryId: string;
  sweep: { id: string; name: string; status: string; createdAt: string; finishedAt: string | null; source: unknown };
  summary: {
    trials: number;
    completed: number;
    failed: number;
    loraBaseline: string | null;
    front: string[];
    expectPassed: boolean | null;
    expect: { name: string; passed: boolean; message: string }[];
    /**
     * Configuration-level results (accuracy 0–1): seed mean with its t interval, and the paired difference to
     * `reference`.
     */
    reference: string | null;
    configurations: {
      name: string;
      seeds: number;
      trainable: number | null;
      mean: number | null;
      lo: number | null;
      hi: number | null;
      diff: { mean: number; lo: number; hi: number } | null;
    }[];
  };
  links: { sweep: string; results: string };
}

export function buildWebhookPayload(
  sweep: SweepRow,
  rows: readonly TrialRow[],
  outcome: SweepOutcome,
  deliveryId: string,
  publicUrl = '',
  items: ReadonlyMap<string, ReadonlyMap<string, TaskItems>> = new Map(),
): WebhookPayload {
  const summary = summarizeSweep([...rows]);
  const verdicts = expectVerdictsOf(sweep.spec as SweepSpec, rows, items);
  const configs = configurationResults(rows, items);
  const base = `${publicUrl.replace(/\/$/, '')}/api/v1/sweeps/${encodeURIComponent(sweep.id)}`;
  return {
    event: `sweep.${outcome}`,
    deliveryId,
    sweep: {
      id: sweep.id,
      name: sweep.name,
      status: sweep.status,
      createdAt: sweep.createdAt,
      finishedAt: sweep.finishedAt,
      source: sweep.source ?? null,
    },
    summary: {
      trials: rows.length,
      completed: summary.completed,
      failed: summary.failed,
      loraBaseline: summary.loraBaseline,
      front: summary.trials.filter((t) => t.onFront).map((t) => t.name),
      expectPassed: verdicts.expectPassed,
      expect: verdicts.expect.map((v) => ({ name: v.name, passed: v.passed, message: v.message })),
      reference: configs.reference,
      configurations: configs.configurations.map((c) => {
        const d = c.vsReference?.mean ?? null;
        return {
          name: c.name,
          seeds: c.seeds.length,
          trainable: c.trainable,
          mean: c.mean?.mean ?? null,
          lo: c.mean?.lo ?? null,
          hi: c.mean?.hi ?? null,
          diff: d ? { mean: d.mean, lo: d.lo, hi: d.hi } : null,
        };
      }),
    },
    links: { sweep: base, results: `${base}/results` },
  };
}

/**
 * The payload as the exact body sent: JSON in which `&` and `=` are written as `\u0026` and `\u003d` (the same
 * JSON value), so that no part of a body, however its strings were chosen, decodes as a form field
 * (`&payload=...&`) when someone posts it somewhere that reads forms.
 */
export function serializeWebhookPayload(payload: WebhookPayload): string {
  return JSON.stringify(payload).replace(/[&=]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}
