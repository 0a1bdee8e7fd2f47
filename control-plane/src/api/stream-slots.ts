/**
 * The per-client cap on open event streams. A client is its bearer token (or read-auth cookie) when it sends one,
 * else its address; each holds at most `ctx.maxStreamsPerClient` streams, and one more is refused with 429 before
 * the stream starts, so no client can make the server hold thousands of subscriptions.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ControlPlaneError } from '../errors.js';
import type { ApiContext } from './api-route.js';
import { bearerToken } from './auth-token.js';
import { READ_COOKIE } from './read-auth.js';

function clientKey(req: FastifyRequest): string {
  const cookie = String(req.headers.cookie ?? '').match(new RegExp(`(?:^|;\\s*)${READ_COOKIE}=([^;]+)`))?.[1];
  const token = bearerToken(req.headers.authorization) ?? cookie ?? null;
  return token ? `token:${createHash('sha256').update(token).digest('hex').slice(0, 16)}` : `addr:${req.ip}`;
}

/** Takes one stream slot for the request's client; returns the function that gives it back (call it once). */
export function holdStreamSlot(req: FastifyRequest, ctx: ApiContext): () => void {
  const key = clientKey(req);
  const held = ctx.streamsPerClient.get(key) ?? 0;
  if (held >= ctx.maxStreamsPerClient) {
    throw new ControlPlaneError(
      'CP_ERR_TOO_MANY_STREAMS',
      `this client already holds ${held} event streams, the most allowed (BSLORA_MAX_STREAMS); close one before opening another`,
    );
  }
  ctx.streamsPerClient.set(key, held + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const now = (ctx.streamsPerClient.get(key) ?? 1) - 1;
    if (now <= 0) ctx.streamsPerClient.delete(key);
    else ctx.streamsPerClient.set(key, now);
  };
}
