/**
 * The REST API (`/api/v1`), built without listening so tests can `inject()` requests (Fastify's build/listen split).
 * Every error is `{ error: { code, message } }` with a code from errors.ts.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ControlPlaneError, isControlPlaneError } from '../errors.js';
import type { ControlPlane } from '../control-plane.js';
import { parseSweepSpec } from '../sweep-specs/index.js';
import { summarizeSweep } from '../recorder/summarize-sweep.js';
import { tokenMatches } from './auth-token.js';
import { resultsCsv } from './results-csv.js';

export interface AppDeps {
  controlPlane: ControlPlane;
  token: string;
  /** Directory that relative paths in submitted specs resolve against. @defaultValue process.cwd() */
  specBaseDir?: string;
  /** Largest accepted body. @defaultValue 1 MiB */
  bodyLimit?: number;
}

function sendError(reply: FastifyReply, err: ControlPlaneError): FastifyReply {
  return reply
    .status(err.httpStatus)
    .send({ error: { code: err.code, message: err.message, ...(err.issues.length ? { issues: err.issues } : {}) } });
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({ bodyLimit: deps.bodyLimit ?? 1024 * 1024, logger: false });
  const cp = deps.controlPlane;

  // Specs arrive as YAML or JSON text; both are parsed by the spec module so errors name spec paths.
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((err, _req, reply) => {
    if (isControlPlaneError(err)) return sendError(reply, err);
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const code = status === 413 ? 'CP_ERR_API_BODY_TOO_LARGE' : status < 500 ? 'CP_ERR_API_REQUEST' : 'CP_ERR_INTERNAL';
    return reply.status(status).send({ error: { code, message: (err as Error).message } });
  });

  // Bearer auth on everything that changes state.
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    if (!tokenMatches(req.headers.authorization, deps.token)) {
      return sendError(reply, new ControlPlaneError('CP_ERR_UNAUTHORIZED', 'send Authorization: Bearer <token> (see `bslora up` output or BSLORA_API_TOKEN)'));
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post('/api/v1/sweeps', async (req, reply) => {
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    const text = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const base = (req.query as { base?: string }).base;
    const spec = parseSweepSpec(text, { format: isJson ? 'json' : 'yaml', sourceName: 'request body', baseDir: base ?? deps.specBaseDir ?? process.cwd() });
    const submitted = await cp.submit(spec);
    return reply.status(201).send({ id: submitted.sweepId, trials: submitted.trials.length, reused: submitted.reused.length });
  });

  app.get('/api/v1/sweeps', async (req) => {
    const q = req.query as { limit?: string; offset?: string };
    const limit = Math.min(200, Math.max(1, Number(q.limit ?? 50)));
    const offset = Math.max(0, Number(q.offset ?? 0));
    return { sweeps: cp.store.listSweeps(limit, offset).map(({ spec: _spec, ...s }) => s), limit, offset };
  });

  const sweepOr404 = (id: string) => {
    const sweep = cp.store.getSweep(id);
    if (!sweep) throw new ControlPlaneError('CP_ERR_SWEEP_NOT_FOUND', `no sweep has id '${id}'`);
    return sweep;
  };

  app.get('/api/v1/sweeps/:id', async (req) => {
    const { id } = req.params as { id: string };
    const sweep = sweepOr404(id);
    const trials = cp.store.trialsOfSweep(id).map((t) => ({
      trialKey: t.trialKey,
      name: t.name,
      method: t.method,
      status: t.status,
      reused: t.reused,
      lastError: t.lastError,
      progress: cp.progress.get(t.trialKey) ?? null,
      result: t.result,
    }));
    return { ...sweep, trials };
  });

  app.get('/api/v1/sweeps/:id/results', async (req, reply) => {
    const { id } = req.params as { id: string };
    sweepOr404(id);
    const rows = cp.store.trialsOfSweep(id);
    const summary = summarizeSweep(rows);
    if ((req.query as { format?: string }).format === 'csv') {
      return reply.type('text/csv').send(resultsCsv(rows, summary));
    }
    return { sweepId: id, ...summary, trials: summary.trials.map((s, i) => ({ ...s, plan: rows[i].plan, result: rows[i].result })) };
  });

  app.post('/api/v1/sweeps/:id/cancel', async (req) => {
    const { id } = req.params as { id: string };
    await cp.cancel(id);
    return { id, status: cp.store.getSweep(id)!.status };
  });

  return app;
}
