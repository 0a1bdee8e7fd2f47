/** The `webhook_deliveries` table: every attempt to deliver an outgoing webhook, kept for the sweep's history. */
import { now, type SqlStatements } from './sql-statements.js';

/** One attempt to deliver one outgoing webhook. */
export interface WebhookAttempt {
  deliveryId: string;
  sweepId: string;
  url: string;
  event: string;
  attempt: number;
  statusCode: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
}

export class WebhookDeliveriesTable {
  constructor(private readonly sql: SqlStatements) {}

  record(a: WebhookAttempt): void {
    this.sql
      .prepare(
        `INSERT INTO webhook_deliveries (delivery_id, sweep_id, url, event, attempt, status_code, ok, error, duration_ms, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.deliveryId,
        a.sweepId,
        a.url,
        a.event,
        a.attempt,
        a.statusCode,
        a.ok ? 1 : 0,
        a.error,
        Math.round(a.durationMs),
        now(),
      );
  }

  /** Every delivery attempt of a sweep's webhooks, oldest first. */
  ofSweep(sweepId: string): (WebhookAttempt & { at: string })[] {
    const rows = this.sql
      .prepare('SELECT * FROM webhook_deliveries WHERE sweep_id = ? ORDER BY id')
      .all(sweepId) as Record<string, string | number | null>[];
    return rows.map((r) => ({
      deliveryId: r.delivery_id as string,
      sweepId: r.sweep_id as string,
      url: r.url as string,
      event: r.event as string,
      attempt: r.attempt as number,
      statusCode: r.status_code as number | null,
      ok: r.ok === 1,
      error: r.error as string | null,
      durationMs: r.duration_ms as number,
      at: r.at as string,
    }));
  }

  /** Attempts that got a 2xx answer, and the others. */
  outcomeCounts(): { ok: number; failed: number } {
    return this.sql
      .prepare('SELECT COALESCE(SUM(ok), 0) AS ok, COUNT(*) - COALESCE(SUM(ok), 0) AS failed FROM webhook_deliveries')
      .get() as {
      ok: number;
      failed: number;
    };
  }
}
