/**
 * `POST /api/v1/sweeps`: validate a spec (YAML or JSON) completely, then queue it. With an `Idempotency-Key`, the
 * same key and body return the first request's sweep (200, `Idempotent-Replayed: true`) instead of a second one;
 * the same key with another body is a 409. Keys are remembered for 24 hours.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ControlPlaneError } from '../../errors.js';
import { isUnderRoots } from '../../sweep-specs/local-paths.js';
import { parseSweepSpecOffThread } from '../../sweep-specs/parse-off-thread.js';
import type { ApiContext } from '../api-route.js';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Content types a spec may be sent as, and the parser format of each. */
export const SPEC_CONTENT_TYPES: Record<string, 'yaml' | 'json'> = {
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'text/x-yaml': 'yaml',
  'text/plain': 'yaml',
  'application/json': 'json',
};

export function specFormatOf(contentType: string | undefined): 'yaml' | 'json' {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const format = SPEC_CONTENT_TYPES[type];
  if (!format) {
    throw new ControlPlaneError(
      'CP_ERR_API_MEDIA_TYPE',
      `Content-Type '${type || '(none)'}' is not accepted; send the spec as one of ${Object.keys(SPEC_CONTENT_TYPES).join(', ')}`,
    );
  }
  return format;
}

export function bodyText(body: unknown): string {
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (typeof body === 'string') return body;
  return '';
}

interface Submitted {
  id: string;
  trials: number;
  reused: number;
}

export async function postSweepHandler(
  query: { base?: string },
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ApiContext,
): Promise<Submitted> {
  const format = specFormatOf(req.headers['content-type']);
  const text = bodyText(req.body);
  if (query.base !== undefined && !isUnderRoots(query.base, ctx.dataRoots)) {
    throw new ControlPlaneError(
      'CP_ERR_PATH_NOT_ALLOWED',
      `?base=${query.base} is outside the folders this control plane reads (${ctx.dataRoots.join(', ')}); give a base under one of them, or none`,
    );
  }
  const baseDir = query.base ?? ctx.specBaseDir;
  const submit = async (): Promise<Submitted> => {
    // Checked on its own thread: parsing and counting a large spec must not hold the event loop.
    const spec = await parseSweepSpecOffThread(text, {
      format,
      sourceName: 'request body',
      baseDir,
      roots: ctx.dataRoots,
    });
    const submitted = await ctx.cp.submit(spec);
    return { id: submitted.sweepId, trials: submitted.trials.length, reused: submitted.reused.length };
  };

  const rawKey = req.headers['idempotency-key'];
  if (rawKey === undefined) {
    return reply.status(201).send(await submit());
  }
  const key = Array.isArray(rawKey) ? rawKey[0] : rawKey;
  if (!KEY_PATTERN.test(key)) {
    throw new ControlPlaneError(
      'CP_ERR_API_REQUEST',
      'Idempotency-Key must be 1-255 printable ASCII characters without spaces (a UUID, say)',
    );
  }
  // The request is "the same" when the spec text, its format and the folder it resolves against are.
  const bodySha256 = createHash('sha256').update(`${format}\n${baseDir}\n${text}`).digest('hex');

  // Namespaced, so that a client's key can never collide with the keys incoming hooks use (github:<delivery>).
  const storeKey = `api:${key}`;
  for (;;) {
    const known = ctx.cp.store.findIdempotencyKey(storeKey, IDEMPOTENCY_TTL_MS);
    if (known) {
      if (known.bodySha256 !== bodySha256) {
        throw new ControlPlaneError(
          'CP_ERR_IDEMPOTENCY_KEY_REUSED',
          `Idempotency-Key '${key}' was used for sweep ${known.sweepId} with a different body; use a new key for a new spec`,
        );
      }
      return reply.status(200).header('idempotent-replayed', 'true').send(known.response);
    }
    const inflight = ctx.idempotencyInflight.get(storeKey);
    if (!inflight) break;
    // A request with this key is being processed: wait for it, then answer as its replay (or retry if it failed).
    await inflight.catch(() => undefined);
  }

  const work = submit().then((response) => {
    ctx.cp.store.saveIdempotencyKey(storeKey, bodySha256, response.id, response);
    return response;
  });
  ctx.idempotencyInflight.set(storeKey, work);
  try {
    return reply.status(201).send(await work);
  } finally {
    ctx.idempotencyInflight.delete(storeKey);
  }
}
