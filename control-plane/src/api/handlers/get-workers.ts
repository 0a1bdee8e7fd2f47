/** `GET /api/v1/workers`: every worker whose agent's heartbeat is live (see agent/worker-heartbeat.ts). */
import { readWorkerHeartbeats, type WorkerHeartbeat } from '../../agent/worker-heartbeat.js';
import { ControlPlaneError } from '../../errors.js';
import type { ApiContext } from '../api-route.js';

export async function listWorkers(ctx: ApiContext): Promise<WorkerHeartbeat[]> {
  try {
    return await ctx.redis.run((redis) => readWorkerHeartbeats(redis, ctx.cp.ctx.prefix));
  } catch (err) {
    throw new ControlPlaneError(
      'CP_ERR_REDIS_UNAVAILABLE',
      `cannot read worker heartbeats: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export async function getWorkersHandler(ctx: ApiContext): Promise<{ workers: WorkerHeartbeat[] }> {
  return { workers: await listWorkers(ctx) };
}
