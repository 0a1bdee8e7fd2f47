/** The `sweeps` table: one row per submitted sweep, with its spec, status, summary and origin. */
import { now, parseOrNull, type SqlStatements } from './sql-statements.js';
import { UNFINISHED_STATUSES, type SweepStatus } from './statuses.js';

export interface SweepRow {
  id: string;
  name: string;
  status: SweepStatus;
  createdAt: string;
  finishedAt: string | null;
  spec: unknown;
  summary: unknown;
  /** Where the sweep came from when not a plain submit (a CI hook's repository and commit); null otherwise. */
  source?: SweepSource | null;
}

/** The origin of a sweep submitted by an incoming hook. */
export interface SweepSource {
  kind: 'github';
  event: string;
  deliveryId: string | null;
  repository: string | null;
  ref: string | null;
  /** The commit the hook came from. */
  sha: string | null;
  spec: string;
}

/** Where a page of sweeps starts: after this (created_at, id) in newest-first order. */
export interface SweepCursor {
  createdAt: string;
  id: string;
}

type Row = Record<string, string | null>;

/** `('queued', 'running')`: the statuses a sweep can still leave, as an SQL list. */
const UNFINISHED_SQL = `(${UNFINISHED_STATUSES.map((s) => `'${s}'`).join(', ')})`;

export class SweepsTable {
  constructor(private readonly sql: SqlStatements) {}

  insert(sweep: { id: string; name: string; spec: unknown }, createdAt: string): void {
    this.sql
      .prepare('INSERT INTO sweeps (id, name, spec_json, status, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(sweep.id, sweep.name, JSON.stringify(sweep.spec), 'queued', createdAt);
  }

  delete(id: string): void {
    this.sql.prepare('DELETE FROM sweeps WHERE id = ?').run(id);
  }

  get(id: string): SweepRow | undefined {
    const r = this.sql.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as Row | undefined;
    return r ? toSweep(r) : undefined;
  }

  list(limit: number, offset: number): SweepRow[] {
    const rows = this.sql
      .prepare('SELECT * FROM sweeps ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?')
      .all(limit, offset) as Row[];
    return rows.map(toSweep);
  }

  /**
   * One page of sweeps, newest first: after `cursor` (keyset pagination, stable while new sweeps arrive) or at
   * `offset`, optionally only those with `status`; `total` counts every match.
   */
  listPage(opts: { limit: number; cursor?: SweepCursor; offset?: number; status?: SweepStatus }): {
    rows: SweepRow[];
    total: number;
  } {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (opts.status) {
      where.push('status = ?');
      args.push(opts.status);
    }
    const total = (
      this.sql.prepare(`SELECT COUNT(*) AS n FROM sweeps ${whereClause(where)}`).get(...args) as { n: number }
    ).n;
    if (opts.cursor) {
      where.push('(created_at < ? OR (created_at = ? AND id < ?))');
      args.push(opts.cursor.createdAt, opts.cursor.createdAt, opts.cursor.id);
    }
    const rows = this.sql
      .prepare(`SELECT * FROM sweeps ${whereClause(where)} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...args, opts.limit, opts.cursor ? 0 : (opts.offset ?? 0)) as Row[];
    return { rows: rows.map(toSweep), total };
  }

  /** The sweeps still queued or running (the start-up reconciler's work list). */
  /** How many sweeps are not finished (queued or running). */
  unfinishedCount(): number {
    return (
      this.sql.prepare(`SELECT COUNT(*) AS n FROM sweeps WHERE status IN ${UNFINISHED_SQL}`).get() as { n: number }
    ).n;
  }

  unfinished(): SweepRow[] {
    return (this.sql.prepare(`SELECT * FROM sweeps WHERE status IN ${UNFINISHED_SQL}`).all() as Row[]).map(toSweep);
  }

  setStatus(id: string, status: SweepStatus, summary?: unknown): void {
    const finished = (UNFINISHED_STATUSES as readonly string[]).includes(status) ? null : now();
    // Final states are final: a late 'active' event must not turn a cancelled or finished sweep back to running.
    this.sql
      .prepare(
        `UPDATE sweeps SET status = ?, finished_at = COALESCE(?, finished_at), summary_json = COALESCE(?, summary_json)
         WHERE id = ? AND status IN ${UNFINISHED_SQL}`,
      )
      .run(status, finished, summary === undefined ? null : JSON.stringify(summary), id);
  }

  setSource(id: string, source: SweepSource): void {
    this.sql.prepare('UPDATE sweeps SET source_json = ? WHERE id = ?').run(JSON.stringify(source), id);
  }

  /** How many sweeps are in each status (statuses without a sweep are absent). */
  countByStatus(): Record<string, number> {
    const rows = this.sql.prepare('SELECT status, COUNT(*) AS n FROM sweeps GROUP BY status').all() as {
      status: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}

const whereClause = (where: string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '');

function toSweep(r: Row): SweepRow {
  return {
    id: r.id!,
    name: r.name!,
    status: r.status as SweepStatus,
    createdAt: r.created_at!,
    finishedAt: r.finished_at,
    spec: JSON.parse(r.spec_json!),
    summary: parseOrNull(r.summary_json),
    source: parseOrNull<SweepSource>(r.source_json ?? null),
  };
}
