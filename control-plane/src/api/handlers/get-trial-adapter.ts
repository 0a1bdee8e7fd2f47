/**
 * `GET /api/v1/sweeps/{id}/trials/{key}/adapter`: a finished trial's trained adapter, the tar of its PEFT
 * `save_pretrained` directory exactly as the worker sent it, streamed from artifacts/ (fetched from the shared
 * artifact backend first when another host trained it). `X-Adapter-Sha256` names the archive's sha256, which is also
 * its name in artifacts/, so a client checks what arrived against it.
 */
import { createReadStream, statSync } from 'node:fs';
import type { FastifyReply } from 'fastify';
import { ControlPlaneError } from '../../errors.js';
import type { TrialRow } from '../../store/store.js';
import type { ApiContext } from '../api-route.js';
import { sweepOr404 } from '../sweep-views.js';

export const ADAPTER_SHA256_HEADER = 'x-adapter-sha256';

/** The trial of a sweep with this key, or CP_ERR_TRIAL_NOT_FOUND (404). */
export function trialOr404(ctx: ApiContext, sweepId: string, key: string): TrialRow {
  sweepOr404(ctx.cp, sweepId);
  const trial = ctx.cp.store.trialsOfSweep(sweepId).find((t) => t.trialKey === key);
  if (!trial)
    throw new ControlPlaneError(
      'CP_ERR_TRIAL_NOT_FOUND',
      `sweep ${sweepId} has no trial with key ${key}: GET /api/v1/sweeps/${sweepId}/trials lists them`,
    );
  return trial;
}

export async function getTrialAdapterHandler(
  sweepId: string,
  key: string,
  reply: FastifyReply,
  ctx: ApiContext,
): Promise<FastifyReply> {
  const trial = trialOr404(ctx, sweepId, key);
  const sha = trial.result?.adapterSha256;
  if (!sha) {
    const why = trial.method === 'base' ? 'it is the untuned base model' : `it is ${trial.status}`;
    throw new ControlPlaneError('CP_ERR_ADAPTER_NOT_FOUND', `trial ${trial.name} (${key}) has no adapter: ${why}`);
  }
  if (!(await ctx.cp.artifacts.fetch(sha))) {
    throw new ControlPlaneError(
      'CP_ERR_ADAPTER_NOT_FOUND',
      `the adapter of trial ${trial.name} (${sha}) is in neither ${ctx.cp.artifacts.where} (the Redis mirror keeps adapters for a week)`,
    );
  }
  const path = ctx.cp.artifacts.pathOf(sha);
  const safeName = trial.name.replace(/[^A-Za-z0-9._-]/g, '_');
  return reply
    .type('application/x-tar')
    .header(ADAPTER_SHA256_HEADER, sha)
    .header('content-length', statSync(path).size)
    .header('content-disposition', `attachment; filename="${safeName}.tar"`)
    .send(createReadStream(path));
}
