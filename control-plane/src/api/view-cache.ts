/**
 * Serialised views of the store, cached until the store changes, for the read endpoints whose bodies are large and
 * costly to build: GET results and GET sweep grow with the sweep's trials, and building them (one query, a
 * JSON.parse of each trial's plan, counts, train record and metrics, the summary and the Pareto front, the expect
 * verdicts, then JSON.stringify) costs far more than sending bytes already built (docs/benchmarks.md, "REST API
 * load", has both rates). The sweep list (GET /api/v1/sweeps, polled by the dashboard's front page) is cached per
 * page the same way, with its `Link` header kept beside the body.
 *
 * An entry is the body as bytes with a strong ETag (a hash of the bytes), built once and kept while
 * `Store.changeStamp()` is unchanged: any write to the store (a result recorded, a status changed, a sweep added)
 * rebuilds it on the next request, so a cached body is never stale. Responses carry the ETag and answer a matching
 * `If-None-Match` with 304 (a CI job or dashboard polling a finished sweep gets no body at all), and are sent gzipped
 * to clients that accept it (the gzip is made once per entry; a sweep's JSON is repetitive and compresses well).
 *
 * A view may also show state that is not in the store: GET /api/v1/sweeps/:id shows each running trial's live
 * progress (held in memory, recorder/live-progress.ts), so that view passes the progress version as part of its stamp.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Store } from '../store/store.js';

export interface CachedView {
  body: Buffer;
  etag: string;
  /** Headers that belong to the body (GET /api/v1/sweeps: its `Link` to the next page). */
  headers: Record<string, string>;
  /** Made on the first request that accepts gzip. */
  gzip?: Buffer;
}

export class ViewCache {
  private readonly entries = new Map<string, { stamp: string; view: CachedView }>();

  /** @param maxEntries - views kept, least recently used evicted first (an entry holds whole response bodies). */
  constructor(
    private readonly store: Store,
    private readonly maxEntries = 32,
  ) {}

  /**
   * The view under `key`, built by `build` (which may throw, e.g. not found: nothing is cached then).
   * @param alsoDependsOn - state outside the store that the view shows (the live-progress version), part of the stamp.
   */
  get(
    key: string,
    build: () => string | { body: string; headers: Record<string, string> },
    alsoDependsOn = '',
  ): CachedView {
    const stamp = `${this.store.changeStamp()}|${alsoDependsOn}`;
    const hit = this.entries.get(key);
    this.entries.delete(key);
    if (hit && hit.stamp === stamp) {
      this.entries.set(key, hit); // most recently used last
      return hit.view;
    }
    const built = build();
    const body = Buffer.from(typeof built === 'string' ? built : built.body, 'utf8');
    const headers = typeof built === 'string' ? {} : built.headers;
    const view: CachedView = {
      body,
      headers,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`,
    };
    this.entries.set(key, { stamp, view });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return view;
  }
}

/** Whether an If-None-Match header names `etag` (or is `*`); weak validators match too (RFC 9110 §13.1.2). */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

/** Whether Accept-Encoding allows gzip (listed, or `*`, without q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  });
}

/** Sends a cached view as `contentType`: 304 when the client has it, gzipped when it accepts that, else as is. */
export function sendView(
  req: FastifyRequest,
  reply: FastifyReply,
  view: CachedView,
  contentType: string,
): FastifyReply {
  // no-cache (not no-store): clients may keep the body but must revalidate it, which the ETag makes cheap.
  reply
    .type(contentType)
    .header('etag', view.etag)
    .header('vary', 'accept-encoding')
    .header('cache-control', 'no-cache');
  for (const [name, value] of Object.entries(view.headers)) reply.header(name, value);
  if (noneMatch(req.headers['if-none-match'], view.etag)) return reply.status(304).send();
  if (acceptsGzip(req.headers['accept-encoding'])) {
    view.gzip ??= gzipSync(view.body, { level: 6 });
    return reply.header('content-encoding', 'gzip').send(view.gzip);
  }
  return reply.send(view.body);
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Answers with the JSON view `build` makes: from `cache` under `key` when there is a cache (ETag, 304, gzip), else
 * built afresh and returned for Fastify to send. `headers` are derived from the value and sent either way (a list
 * page's `Link`); `alsoDependsOn` is as for {@link ViewCache.get}.
 */
export function sendJsonView<T>(
  req: FastifyRequest,
  reply: FastifyReply,
  cache: ViewCache | undefined,
  key: string,
  build: () => T,
  opts: { alsoDependsOn?: string; headers?: (value: T) => Record<string, string> } = {},
): T | FastifyReply {
  if (!cache) {
    const value = build();
    for (const [name, v] of Object.entries(opts.headers?.(value) ?? {})) reply.header(name, v);
    return value;
  }
  const view = cache.get(
    key,
    () => {
      const value = build();
      return { body: JSON.stringify(value), headers: opts.headers?.(value) ?? {} };
    },
    opts.alsoDependsOn,
  );
  return sendView(req, reply, view, JSON_TYPE);
}
