/**
 * `POST /api/v1/hooks/github`: for CI systems that can only send webhooks. Verifies GitHub's
 * `X-Hub-Signature-256` over the raw body with `BSLORA_GITHUB_HOOK_SECRET` (constant time; JSON bodies only), accepts
 * `push` and
 * completed, successful `workflow_run` events, and submits the spec from `jobs/` that the hook's configuration
 * names (`?spec=` on the hook URL, else `BSLORA_GITHUB_HOOK_SPEC`), recording the repository, ref and commit sha
 * with the sweep. A redelivery (same `X-GitHub-Delivery`) answers with the sweep it already created; the same body
 * under a new delivery id is a replay and is refused (409) for 24 hours.
 *
 * The control plane submits the spec as it is in its own checkout; the commit recorded is the one that triggered it.
 */
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { extname, relative, resolve, sep } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ControlPlaneError } from '../../errors.js';
import type { SweepSource } from '../../store/store.js';
import { loadSweepSpecFile } from '../../sweep-specs/index.js';
import { GITHUB_SIGNATURE_HEADER, verifyGithubSignature } from '../../webhooks/github-signature.js';
import type { ApiContext } from '../api-route.js';
import { IDEMPOTENCY_TTL_MS } from './post-sweep.js';

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The spec file a hook may submit: a .yaml/.yml/.json file that really lies under `jobsDir` (no `..`, no symlink out).
 */
export function resolveHookSpec(name: string, jobsDir: string): { path: string; name: string } {
  const bad = (why: string) => new ControlPlaneError('CP_ERR_HOOK_REQUEST', `hook spec '${name}' ${why}`);
  const root = realpathSync(jobsDir);
  const candidate = resolve(root, name.replace(/^\.?\/?jobs\//, ''));
  if (!['.yaml', '.yml', '.json'].includes(extname(candidate).toLowerCase()))
    throw bad('is not a .yaml, .yml or .json file');
  // Outside jobs/ before anything is probed: whether such a file exists is not said.
  if (!candidate.startsWith(root + sep)) throw bad('is not a file under jobs/');
  if (!existsSync(candidate)) throw bad(`does not exist under ${root}`);
  const real = realpathSync(candidate);
  if (!real.startsWith(root + sep)) throw bad('is not a file under jobs/');
  return { path: real, name: `jobs/${relative(root, real).split(sep).join('/')}` };
}

interface GithubPayload {
  ref?: string;
  after?: string;
  deleted?: boolean;
  action?: string;
  repository?: { full_name?: string };
  workflow_run?: { head_sha?: string; head_branch?: string; conclusion?: string | null; name?: string };
}

/**
 * The payload: the signed bytes themselves, as JSON. GitHub can also send a form whose `payload` field holds the
 * JSON; that is refused, because a form field can be cut out of any signed text that happens to contain
 * `&payload=...&`, and then the signature no longer vouches for what is read.
 */
function parsePayload(raw: Buffer): GithubPayload {
  try {
    const data = JSON.parse(raw.toString('utf8')) as unknown;
    if (data && typeof data === 'object' && !Array.isArray(data)) return data as GithubPayload;
  } catch {
    // fall through
  }
  throw new ControlPlaneError('CP_ERR_HOOK_REQUEST', 'the hook payload is not a JSON object');
}

function refMatches(ref: string | null, allowed: string | undefined): boolean {
  if (!allowed) return true;
  return allowed
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean)
    .some((r) => ref === r || ref === `refs/heads/${r}`);
}

export async function postGithubHookHandler(
  query: { spec?: string },
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: ApiContext,
) {
  const secret = ctx.env.BSLORA_GITHUB_HOOK_SECRET;
  if (!secret) {
    throw new ControlPlaneError(
      'CP_ERR_HOOK_DISABLED',
      'set BSLORA_GITHUB_HOOK_SECRET on the control plane to the secret of the GitHub webhook',
    );
  }
  const type = (header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new ControlPlaneError(
      'CP_ERR_API_MEDIA_TYPE',
      `Content-Type '${type || '(none)'}' is not accepted; set the GitHub webhook's content type to application/json`,
    );
  }
  const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.from(typeof req.body === 'string' ? req.body : '');
  if (!verifyGithubSignature(secret, raw, header(req, GITHUB_SIGNATURE_HEADER))) {
    throw new ControlPlaneError(
      'CP_ERR_HOOK_SIGNATURE',
      'X-Hub-Signature-256 is missing or does not match the body signed with the shared secret',
    );
  }
  const event = header(req, 'x-github-event') ?? '';
  const deliveryId = header(req, 'x-github-delivery') ?? null;
  const payload = parsePayload(raw);
  const ignore = (reason: string) => reply.status(202).send({ accepted: false, reason });

  let sha: string | null;
  let ref: string | null;
  if (event === 'ping') return reply.status(200).send({ accepted: false, reason: 'pong' });
  if (event === 'push') {
    if (payload.deleted) return ignore('a branch deletion submits nothing');
    sha = payload.after ?? null;
    ref = payload.ref ?? null;
  } else if (event === 'workflow_run') {
    const run = payload.workflow_run ?? {};
    if (payload.action !== 'completed') return ignore(`workflow_run '${payload.action}': only 'completed' submits`);
    if (run.conclusion !== 'success')
      return ignore(`workflow_run concluded '${run.conclusion}': only 'success' submits`);
    sha = run.head_sha ?? null;
    ref = run.head_branch ? `refs/heads/${run.head_branch}` : null;
  } else {
    return ignore(`event '${event || '(none)'}' submits nothing (push and workflow_run do)`);
  }
  if (!refMatches(ref, ctx.env.BSLORA_GITHUB_HOOK_REF)) return ignore(`ref ${ref} is not in BSLORA_GITHUB_HOOK_REF`);

  const specName = query.spec ?? ctx.env.BSLORA_GITHUB_HOOK_SPEC;
  if (!specName) {
    throw new ControlPlaneError(
      'CP_ERR_HOOK_REQUEST',
      'name the spec to submit: ?spec=<file under jobs/> on the hook URL, or BSLORA_GITHUB_HOOK_SPEC',
    );
  }
  const spec = resolveHookSpec(specName, ctx.jobsDir);

  // A redelivery of the same event (same delivery id) must not start a second sweep: it answers with the first.
  const key = deliveryId ? `github:${deliveryId}` : null;
  const bodySha256 = createHash('sha256').update(raw).digest('hex');
  const known = key ? ctx.cp.store.findIdempotencyKey(key, IDEMPOTENCY_TTL_MS) : undefined;
  if (known && known.bodySha256 === bodySha256)
    return reply.status(200).header('idempotent-replayed', 'true').send(known.response);
  // The same signed bytes under another delivery id are a replay (the delivery id is not signed): refused. GitHub
  // sends every event with its own body, so a legitimate event never repeats one.
  const bodyKey = `github-body:${bodySha256}`;
  const seen = ctx.cp.store.findIdempotencyKey(bodyKey, IDEMPOTENCY_TTL_MS);
  if (seen) {
    throw new ControlPlaneError(
      'CP_ERR_HOOK_REPLAYED',
      `this body was already delivered (sweep ${seen.sweepId}); a replayed delivery submits nothing. Redeliver from GitHub with the original delivery id instead`,
    );
  }

  const submitted = await ctx.cp.submit(await loadSweepSpecFile(spec.path, { roots: ctx.dataRoots }));
  const source: SweepSource = {
    kind: 'github',
    event,
    deliveryId,
    repository: payload.repository?.full_name ?? null,
    ref,
    sha,
    spec: spec.name,
  };
  ctx.cp.store.setSweepSource(submitted.sweepId, source);
  ctx.cp.store.addEvent(submitted.sweepId, null, 'sweep-source', source);
  const response = { accepted: true, sweepId: submitted.sweepId, sha };
  if (key) ctx.cp.store.saveIdempotencyKey(key, bodySha256, submitted.sweepId, response);
  ctx.cp.store.saveIdempotencyKey(bodyKey, bodySha256, submitted.sweepId, response);
  return reply.status(201).send(response);
}
