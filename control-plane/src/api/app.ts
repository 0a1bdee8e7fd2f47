/**
 * The REST API (`/api/v1`), `/healthz`, `/readyz`, `/metrics` and the dashboard, built without listening so that tests
 * can `inject()` requests (Fastify's build/listen split). Routes come from the table in routes.ts; the OpenAPI
 * document is generated from the same table. Every error is `{ error: { code, message } }` with a code from
 * errors.ts; requests that change state need the bearer token (incoming hooks verify their own signature instead).
 *
 * @example
 * const app = buildApp({ controlPlane, token });
 * const res = await app.inject({ method: 'GET', url: '/api/v1/sweeps' });
 * await app.listen({ host: '127.0.0.1', port: 7433 });
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlPlane } from '../control-plane.js';
import { registerDashboardRoutes } from '../dashboard/routes.js';
import { serverDataRoots } from '../data-roots.js';
import { ControlPlaneError, isControlPlaneError } from '../errors.js';
import { ApiRedis } from './api-redis.js';
import { parseInput, type ApiContext, type RouteAuth } from './api-route.js';
import { tokenMatches } from './auth-token.js';
import { checkRead } from './read-auth.js';
import { warmSpecThread } from '../sweep-specs/parse-off-thread.js';
import { HttpMetrics } from './http-metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import { API_ROUTES } from './routes.js';
import { fromFastifyError, sendError } from './send-error.js';
import { SweepEventLog } from './sweep-event-log.js';
import { ViewCache } from './view-cache.js';

export const DEFAULT_JOBS_DIR = fileURLToPath(new URL('../../../jobs/', import.meta.url));

export interface AppDeps {
  controlPlane: ControlPlane;
  token: string;
  /** Directory that relative paths in submitted specs resolve against. @defaultValue the first data root */
  specBaseDir?: string;
  /**
   * Folders local paths in submitted specs must lie under (symlinks resolved); `?base=` must lie under them too.
   * @defaultValue serverDataRoots(): BSLORA_DATA_ROOTS, else `<home>/data`, plus `<home>/artifacts`
   */
  dataRoots?: string[];
  /** Largest accepted body, in bytes. @defaultValue env BSLORA_BODY_LIMIT, else 1 MiB */
  bodyLimit?: number;
  /** The folder incoming hooks may submit specs from. @defaultValue the repository's jobs/ */
  jobsDir?: string;
  /** Where hook secrets and settings are read (BSLORA_GITHUB_HOOK_*). @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Reads (sweeps, results, deliveries, workers, event streams, dashboard pages) need the token too (read-auth.ts).
   * @defaultValue false here; `bslora up` and `serve` turn it on when the API listens beyond loopback
   */
  readAuth?: boolean;
  /**
   * Most event streams one token (or one address, without a token) may hold open. @defaultValue BSLORA_MAX_STREAMS,
   * else 16
   */
  maxStreamsPerClient?: number;
  /** Milliseconds between SSE heartbeat comments. @defaultValue 15000 */
  sseHeartbeatMs?: number;
  /**
   * Serve GET results (JSON and CSV), GET sweep and the sweep list from a cache kept until what they show changes
   * (view-cache.ts). @defaultValue true
   */
  cacheViews?: boolean;
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const env = deps.env ?? process.env;
  const app = Fastify({ bodyLimit: deps.bodyLimit ?? (Number(env.BSLORA_BODY_LIMIT) || 1024 * 1024), logger: false });
  const cp = deps.controlPlane;
  const redis = new ApiRedis(cp.ctx.connection);
  // No artifacts folder (a stub control plane): no roots, so every local path is refused.
  const dataRoots = deps.dataRoots ?? (cp.artifactsDir ? serverDataRoots(dirname(cp.artifactsDir), env) : []);
  const ctx: ApiContext = {
    cp,
    redis,
    httpMetrics: new HttpMetrics(),
    specBaseDir: deps.specBaseDir ?? dataRoots[0] ?? process.cwd(),
    dataRoots,
    jobsDir: deps.jobsDir ?? DEFAULT_JOBS_DIR,
    env,
    sseHeartbeatMs: deps.sseHeartbeatMs ?? 15_000,
    idempotencyInflight: new Map(),
    openStreams: new Set(),
    streamsPerClient: new Map(),
    maxStreamsPerClient:
      deps.maxStreamsPerClient ?? (Number(env.BSLORA_MAX_STREAMS) > 0 ? Number(env.BSLORA_MAX_STREAMS) : 16),
    events: new SweepEventLog(cp),
    viewCache: deps.cacheViews === false ? undefined : new ViewCache(cp.store),
  };
  const openapi = buildOpenApiDocument(API_ROUTES);
  // The spec-checking thread loads its modules while the server starts (ready() and listen() wait for it), not
  // during the first submission.
  const specThread = warmSpecThread();
  app.addHook('onReady', async () => specThread);

  app.setErrorHandler((err, _req, reply) =>
    sendError(reply, isControlPlaneError(err) ? err : fromFastifyError(err as Error & { statusCode?: number })),
  );
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      new ControlPlaneError(
        'CP_ERR_API_NOT_FOUND',
        `no route ${req.method} ${req.url.split('?')[0]}; GET /api/v1/openapi.json lists every route`,
      ),
    ),
  );

  // Bearer auth on everything that changes state; incoming hooks authenticate by their signature instead.
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (deps.readAuth && checkRead(req, reply, deps.token)) return reply;
      return;
    }
    if (req.method === 'OPTIONS') return;
    if ((req.routeOptions.config as { auth?: RouteAuth } | undefined)?.auth === 'hook-signature') return;
    if (!tokenMatches(req.headers.authorization, deps.token)) {
      return sendError(
        reply,
        new ControlPlaneError(
          'CP_ERR_UNAUTHORIZED',
          'send Authorization: Bearer <token> (see `bslora up` output or BSLORA_API_TOKEN)',
        ),
      );
    }
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (!reply.hasHeader('x-content-type-options')) reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control') && !req.url.startsWith('/assets/'))
      reply.header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    ctx.httpMetrics.observe(
      req.method,
      req.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });
  // Open event streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    for (const end of [...ctx.openStreams]) end();
  });
  app.addHook('onClose', async () => {
    ctx.events.close();
    await redis.close();
  });

  app.register(async (api) => {
    // Bodies reach handlers as raw bytes: specs are parsed by the spec module (errors by path and line), and
    // incoming hooks verify signatures over the exact bytes sent.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    for (const route of API_ROUTES) {
      api.route({
        method: route.method,
        url: route.url,
        config: { auth: route.auth },
        handler: async (req, reply) => {
          const params = parseInput(route.params, req.params, 'path');
          const query = parseInput(route.query, req.query, 'query');
          if (route.operationId === 'getOpenApi') return openapi;
          return route.handler({ params, query, req, reply, ctx });
        },
      });
    }
  });

  registerDashboardRoutes(app, { controlPlane: cp });
  return app;
}
