/**
 * `/healthz` (the process answers) and `/readyz` (it can take work: Redis answers and the store is open). Both are
 * unauthenticated, for load balancers and orchestrators.
 */
import type { FastifyReply } from 'fastify';
import type { ApiContext } from '../api-route.js';

export async function getReadyHandler(reply: FastifyReply, ctx: ApiContext) {
  let redis: { ok: boolean; message?: string };
  try {
    const pong = await ctx.redis.run((r) => r.ping(), 1_000);
    redis = pong === 'PONG' ? { ok: true } : { ok: false, message: `PING answered ${pong}` };
  } catch (err) {
    redis = { ok: false, message: (err as Error).message };
  }
  const store = { ok: ctx.cp.store.isHealthy() };
  const ready = redis.ok && store.ok;
  if (ready) return reply.status(200).send({ status: 'ready', checks: { redis, store } });
  const why = [redis.ok ? null : `Redis: ${redis.message}`, store.ok ? null : 'the store is closed']
    .filter(Boolean)
    .join('; ');
  // Not ready is an error like any other ({error: {code, message}}), with the checks beside it for operators.
  return reply
    .status(503)
    .send({ status: 'not_ready', checks: { redis, store }, error: { code: 'CP_ERR_NOT_READY', message: why } });
}
