/**
 * The results dashboard, served by the control plane: one HTML shell at `/` and `/sweeps/:id`, the browser modules
 * and stylesheet from ./static, and Apache ECharts from node_modules (no CDN, no build step). The page reads the
 * public REST API (`/api/v1/...`) like any other client. See docs/dashboard.md and docs/decisions/0005.
 *
 * Assets come from a fixed list (never from a path in the request), with ETags, gzip when the client accepts it,
 * and a Content-Security-Policy that allows scripts only from this origin.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { ControlPlane } from '../control-plane.js';

export interface DashboardDeps {
  controlPlane: ControlPlane;
}

// Spelled from the repository root (three levels up, as every data path here), so that it holds in the compiled CLI
// (dist/cli/js/, infra/scripts/build-cli.sh) too.
const STATIC_DIR = fileURLToPath(new URL('../../../control-plane/src/dashboard/static/', import.meta.url));
const ECHARTS_DIST = dirname(createRequire(import.meta.url).resolve('echarts'));

const JS = 'text/javascript; charset=utf-8';

/** URL name under /assets/ → file and type. The browser modules import each other by these names. */
const ASSETS: Record<string, { file: string; type: string; immutable?: boolean }> = {
  'app.js': { file: join(STATIC_DIR, 'app.js'), type: JS },
  'api.js': { file: join(STATIC_DIR, 'api.js'), type: JS },
  'chart.js': { file: join(STATIC_DIR, 'chart.js'), type: JS },
  'dom.js': { file: join(STATIC_DIR, 'dom.js'), type: JS },
  'format.js': { file: join(STATIC_DIR, 'format.js'), type: JS },
  'live-events.js': { file: join(STATIC_DIR, 'live-events.js'), type: JS },
  'sweep-summary.js': { file: join(STATIC_DIR, 'sweep-summary.js'), type: JS },
  'sweep-list.js': { file: join(STATIC_DIR, 'sweep-list.js'), type: JS },
  'sweep-view.js': { file: join(STATIC_DIR, 'sweep-view.js'), type: JS },
  'statuses.js': { file: join(STATIC_DIR, 'statuses.js'), type: JS },
  'table.js': { file: join(STATIC_DIR, 'table.js'), type: JS },
  'x-measure.js': { file: join(STATIC_DIR, 'x-measure.js'), type: JS },
  'config-charts.js': { file: join(STATIC_DIR, 'config-charts.js'), type: JS },
  'config-views.js': { file: join(STATIC_DIR, 'config-views.js'), type: JS },
  'sweep-configurations.js': { file: join(STATIC_DIR, 'sweep-configurations.js'), type: JS },
  'sweep-search.js': { file: join(STATIC_DIR, 'sweep-search.js'), type: JS },
  'comparison-page.js': { file: join(STATIC_DIR, 'comparison-page.js'), type: JS },
  'dashboard.css': { file: join(STATIC_DIR, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  'favicon.svg': { file: join(STATIC_DIR, 'favicon.svg'), type: 'image/svg+xml' },
  // The ES-module build of ECharts (self-contained, no imports).
  'echarts.esm.min.mjs': { file: join(ECHARTS_DIST, 'echarts.esm.min.mjs'), type: JS, immutable: true },
};

/** Scripts only from this origin; ECharts and the page set inline style attributes, so styles allow them. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Loaded {
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

const registered = new WeakSet<FastifyInstance>();

/**
 * Adds the dashboard's routes to an app (before it listens). Calling it twice on one app does nothing the second
 * time, so buildApp and tests can both call it.
 */
export function registerDashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  if (registered.has(app)) return;
  registered.add(app);

  const cache = new Map<string, Promise<Loaded>>();
  const load = (file: string): Promise<Loaded> => {
    let p = cache.get(file);
    if (!p) {
      p = readFile(file).then((body) => ({
        body,
        gzip: gzipSync(body),
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      }));
      p.catch(() => cache.delete(file));
      cache.set(file, p);
    }
    return p;
  };

  const send = async (
    req: FastifyRequest,
    reply: FastifyReply,
    file: string,
    type: string,
    opts: { status?: number; immutable?: boolean } = {},
  ) => {
    const asset = await load(file);
    reply
      .header('content-type', type)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('etag', asset.etag)
      .header('vary', 'accept-encoding')
      .header('cache-control', opts.immutable ? 'public, max-age=86400' : 'no-cache');
    if (type.startsWith('text/html')) reply.header('content-security-policy', DASHBOARD_CSP);
    const status = opts.status ?? 200;
    if (status === 200 && req.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gzip) reply.header('content-encoding', 'gzip');
    return reply.status(status).send(gzip ? asset.gzip : asset.body);
  };

  const INDEX = join(STATIC_DIR, 'index.html');
  const HTML = 'text/html; charset=utf-8';

  app.get('/', (req, reply) => send(req, reply, INDEX, HTML));
  app.get('/compare', (req, reply) => send(req, reply, INDEX, HTML));
  app.get('/sweeps/:id', (req, reply) => {
    const { id } = req.params as { id: string };
    // The shell is served either way; the page explains a missing sweep, and the status tells clients.
    const found = deps.controlPlane.store.getSweep(id) !== undefined;
    return send(req, reply, INDEX, HTML, { status: found ? 200 : 404 });
  });
  app.get('/assets/:name', (req, reply) => {
    const { name } = req.params as { name: string };
    const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) {
      return reply
        .status(404)
        .send({ error: { code: 'CP_ERR_API_NOT_FOUND', message: `no dashboard asset named '${name}'` } });
    }
    return send(req, reply, asset.file, asset.type, { immutable: asset.immutable });
  });
}
