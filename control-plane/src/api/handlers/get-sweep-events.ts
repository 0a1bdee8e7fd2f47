/**
 * `GET /api/v1/sweeps/:id/events`: a server-sent-events stream of one sweep's progress.
 *
 * First a `snapshot` event (the sweep as `GET /api/v1/sweeps/:id` returns it), then each live event of the control
 * plane under its own name (`trial-running`, `trial-progress`, `trial-finished`, `sweep-finished`), a `: heartbeat`
 * comment every few seconds so that proxies keep the connection open, and finally an `end` event with the final
 * status, after which the server closes the stream. A sweep that has already ended gets its snapshot and `end` at
 * once. A client that goes away is unsubscribed; closing the app ends every open stream.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LiveEvent } from '../../control-plane.js';
import type { ApiContext } from '../api-route.js';
import { FINAL_SWEEP_STATUSES } from '../../store/statuses.js';
import { sweepDetail, sweepOr404 } from '../sweep-views.js';

export function getSweepEventsHandler(id: string, req: FastifyRequest, reply: FastifyReply, ctx: ApiContext): void {
  const { cp } = ctx;
  sweepOr404(cp, id); // a missing sweep is an ordinary JSON 404, before the stream starts

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-content-type-options': 'nosniff',
  });

  let seq = 0;
  let closed = false;
  const write = (chunk: string) => {
    if (!closed) res.write(chunk);
  };
  const send = (event: string, data: unknown) => write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

  const close = () => {
    if (closed) return;
    closed = true;
    cp.live.off('event', onLive);
    clearInterval(heartbeat);
    ctx.openStreams.delete(endStream);
    res.end();
  };
  const endIfFinished = (): boolean => {
    const sweep = cp.store.getSweep(id);
    if (!sweep || !FINAL_SWEEP_STATUSES.has(sweep.status)) return false;
    send('end', { status: sweep.status, summary: sweep.summary });
    close();
    return true;
  };
  const endStream = () => {
    if (!endIfFinished()) {
      send('end', { status: cp.store.getSweep(id)?.status ?? null, reason: 'server shutting down' });
      close();
    }
  };
  const onLive = (e: LiveEvent) => {
    if (e.sweepId !== id || closed) return;
    if (e.kind === 'sweep-finished') {
      // The store has the final status and summary; the event itself may carry none.
      const sweep = cp.store.getSweep(id);
      send('sweep-finished', { ...(e.payload as object), status: sweep?.status ?? null });
      endIfFinished();
      return;
    }
    send(e.kind, e.payload);
  };

  // Subscribe before reading the snapshot, so nothing between the two is lost.
  cp.live.on('event', onLive);
  const heartbeat = setInterval(() => {
    write(': heartbeat\n\n');
    // Belt and braces: a sweep closed by a path that emits no live event (the start-up reconciler) still ends.
    endIfFinished();
  }, ctx.sseHeartbeatMs);
  ctx.openStreams.add(endStream);
  req.raw.on('close', close);
  res.on('error', close);

  write('retry: 3000\n\n');
  send('snapshot', sweepDetail(cp, id));
  endIfFinished();
}
