/**
 * `GET /api/v1/sweeps/:id/events`: a server-sent-events stream of one sweep's changes, as deltas
 * (api/sweep-event-log.ts;
 * the names are declared once in dashboard/static/live-events.js).
 *
 * Every connection starts with a `snapshot`: the sweep's status, its trials by status, the latest progress of each
 * running trial, and `resumed`. A client that names the last event it has (the `Last-Event-ID` header, which
 * browsers send when they reconnect, or `?since=`, e.g. the `eventId` of GET …/results?format=columns) gets
 * `resumed: true` and every state change after that event, in order, if the log still holds them all; otherwise
 * `resumed: false`, and it must reload what it shows. Then the live events (`trial-running`, `trial-progress`,
 * `trial-finished`, `sweep-finished`) as they happen, a `: heartbeat` comment every few seconds so that proxies
 * keep the connection open, and finally `end` with the final status, after which the server closes the stream. A
 * sweep that has already ended gets its snapshot, what it missed, and `end` at once. A client that goes away is
 * unsubscribed; closing the app ends every open stream.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createGzip } from 'node:zlib';
import type { ApiContext } from '../api-route.js';
import { FINAL_SWEEP_STATUSES } from '../../store/statuses.js';
import type { LiveEventName, SweepEvent } from '../sweep-event-log.js';
import { summaryTotals, sweepOr404 } from '../sweep-views.js';
import { holdStreamSlot } from '../stream-slots.js';
import { acceptsGzip } from '../view-cache.js';

const FLUSH_MS = 100;

export function getSweepEventsHandler(
  id: string,
  since: string | undefined,
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ApiContext,
): void {
  const { cp, events: log } = ctx;
  sweepOr404(cp, id); // a missing sweep is an ordinary JSON 404, before the stream starts
  const release = holdStreamSlot(req, ctx); // 429 past the per-client cap, before the stream starts
  const lastEventId = req.headers['last-event-id'];
  const resumeFrom = (Array.isArray(lastEventId) ? lastEventId[0] : lastEventId) || since;

  reply.hijack();
  const res = reply.raw;
  // Gzipped for clients that accept it (browsers do): the events of a large sweep are mostly JSON that repeats.
  // What is written within FLUSH_MS is flushed together: each flush costs bytes of its own, and a dashboard does
  // not need events sooner.
  const gzip = acceptsGzip(req.headers['accept-encoding']) ? createGzip({ level: 6 }) : null;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
    ...(gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : {}),
  });
  gzip?.pipe(res);
  gzip?.on('error', () => close());

  let closed = false;
  let flushing = false;
  const write = (chunk: string) => {
    if (closed) return;
    if (!gzip) {
      res.write(chunk);
      return;
    }
    gzip.write(chunk);
    if (!flushing) {
      flushing = true;
      setTimeout(() => {
        flushing = false;
        if (!closed) gzip.flush();
      }, FLUSH_MS).unref();
    }
  };
  const send = (name: LiveEventName, data: unknown, eventId?: string) =>
    write(`${eventId ? `id: ${eventId}\n` : ''}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);

  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(heartbeat);
    ctx.openStreams.delete(endStream);
    release();
    if (gzip) gzip.end();
    else res.end();
  };
  const endIfFinished = (): boolean => {
    const sweep = cp.store.getSweep(id);
    if (!sweep || !FINAL_SWEEP_STATUSES.has(sweep.status)) return false;
    send('end', { status: sweep.status, summary: summaryTotals(sweep.summary) });
    close();
    return true;
  };
  const endStream = () => {
    if (!endIfFinished()) {
      send('end', { status: cp.store.getSweep(id)?.status ?? null, reason: 'server shutting down' });
      close();
    }
  };
  const onEvent = (e: SweepEvent) => {
    if (closed) return;
    send(e.name, e.data, e.id);
    if (e.name === 'sweep-finished') endIfFinished();
  };

  // Subscribe before reading the snapshot and the log, so that nothing between them is lost (all of it is
  // synchronous, so nothing arrives in between either).
  const unsubscribe = log.subscribe(id, onEvent);
  const heartbeat = setInterval(() => {
    write(': heartbeat\n\n');
    // Belt and braces: a sweep closed by a path that emits no live event (the start-up reconciler) still ends.
    endIfFinished();
  }, ctx.sseHeartbeatMs);
  ctx.openStreams.add(endStream);
  req.raw.on('close', close);
  res.on('error', close);

  write('retry: 3000\n\n');
  const missed = resumeFrom ? log.since(id, resumeFrom) : null;
  const sweep = cp.store.getSweep(id)!;
  const running = cp.store.runningTrialKeys(id);
  send(
    'snapshot',
    {
      id,
      status: sweep.status,
      finishedAt: sweep.finishedAt,
      trials: cp.store.trialStatusCounts([id]).get(id),
      progress: Object.fromEntries(running.map((k) => [k, cp.progress.get(k) ?? null])),
      resumed: missed !== null,
    },
    // An id says "everything up to here is in hand": so the snapshot has one unless older events are replayed after
    // it.
    missed?.length ? undefined : log.lastId(),
  );
  for (const e of missed ?? []) send(e.name, e.data, e.id);
  endIfFinished();
}
