/** `GET /api/v1/sweeps`: newest first, paged by cursor (stable while sweeps arrive) or offset, with a next link. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ControlPlaneError } from '../../errors.js';
import type { SweepCursor, SweepStatus } from '../../store/store.js';
import type { ApiContext } from '../api-route.js';
import { summaryTotals } from '../sweep-views.js';
import { sendJsonView } from '../view-cache.js';

export function encodeCursor(c: SweepCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
}

export function decodeCursor(s: string): SweepCursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof createdAt === 'string' && typeof id === 'string') return { createdAt, id };
  } catch {
    // fall through
  }
  throw new ControlPlaneError(
    'CP_ERR_API_REQUEST',
    'cursor is not one this API returned (pass nextCursor unchanged)',
    {
      issues: [{ path: 'query.cursor', message: 'not a cursor this API returned' }],
    },
  );
}

export type ListSweepsQuery = { limit: number; offset: number; cursor?: string; status?: SweepStatus };

/**
 * Served from the view cache when it is enabled (kept until the store changes; ETag, 304, gzip): the dashboard's
 * front page polls it every 5 s, and each page is a query, a count by status of its sweeps' trials and a stringify.
 */
export function listSweepsHandler(query: ListSweepsQuery, req: FastifyRequest, reply: FastifyReply, ctx: ApiContext) {
  const key = `list:${query.limit}:${query.offset}:${query.cursor ?? ''}:${query.status ?? ''}`;
  return sendJsonView(req, reply, ctx.viewCache, key, () => sweepListPage(query, ctx), {
    headers: (page): Record<string, string> => (page.next ? { link: `<${page.next}>; rel="next"` } : {}),
  });
}

function sweepListPage(query: ListSweepsQuery, ctx: ApiContext) {
  const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
  // One row more than asked says whether there is a next page.
  const page = ctx.cp.store.listSweepsPage({
    limit: query.limit + 1,
    cursor,
    offset: query.offset,
    status: query.status,
  });
  const hasMore = page.rows.length > query.limit;
  const rows = page.rows.slice(0, query.limit);
  const last = rows.at(-1);
  const nextCursor = hasMore && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null;
  const next = nextCursor
    ? `/api/v1/sweeps?${new URLSearchParams({ limit: String(query.limit), cursor: nextCursor, ...(query.status ? { status: query.status } : {}) })}`
    : null;
  const counts = ctx.cp.store.trialStatusCounts(rows.map((r) => r.id));
  return {
    sweeps: rows.map(({ spec: _spec, summary, ...s }) => ({
      ...s,
      source: s.source ?? null,
      trials: counts.get(s.id)!,
      summary: summaryTotals(summary),
    })),
    limit: query.limit,
    offset: cursor ? 0 : query.offset,
    total: page.total,
    nextCursor,
    next,
  };
}
