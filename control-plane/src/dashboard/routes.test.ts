import Fastify from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../control-plane.js';
import { registerDashboardRoutes } from './routes.js';

const STATIC = new URL('./static/', import.meta.url);
const staticFile = (name: string) => readFileSync(new URL(name, STATIC), 'utf8');
const browserModules = readdirSync(STATIC).filter((f) => f.endsWith('.js'));

describe('dashboard routes', () => {
  const controlPlane = {
    store: { getSweep: (id: string) => (id === 'sw-known' ? { id } : undefined) },
  } as unknown as ControlPlane;
  const app = Fastify();

  beforeAll(async () => {
    registerDashboardRoutes(app, { controlPlane });
    registerDashboardRoutes(app, { controlPlane }); // a second call is a no-op
    await app.ready();
  });
  afterAll(() => app.close());

  it('serves the page at / with a strict Content-Security-Policy', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).not.toContain('unsafe-eval');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body).toContain('<script type="module" src="/assets/app.js"></script>');
  });

  it('serves the page for a sweep, with 404 for one that does not exist', async () => {
    expect((await app.inject({ url: '/sweeps/sw-known' })).statusCode).toBe(200);
    const missing = await app.inject({ url: '/sweeps/sw-missing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('/assets/app.js');
  });

  it('serves every module the page imports, and ECharts from node_modules', async () => {
    const imported = new Set(['app.js']);
    for (const file of browserModules) {
      for (const m of staticFile(file).matchAll(/(?:from |import\()'\.\/([^']+)'/g)) imported.add(m[1]);
    }
    for (const link of staticFile('index.html').matchAll(/(?:href|src)="\/assets\/([^"]+)"/g)) imported.add(link[1]);
    expect(imported).toContain('echarts.esm.min.mjs');
    for (const name of imported) {
      const res = await app.inject({ url: `/assets/${name}` });
      expect(res.statusCode, name).toBe(200);
      if (/\.m?js$/.test(name)) expect(res.headers['content-type'], name).toBe('text/javascript; charset=utf-8');
    }
    const echarts = await app.inject({ url: '/assets/echarts.esm.min.mjs' });
    expect(echarts.body.length).toBeGreaterThan(500_000);
    expect(echarts.headers['cache-control']).toBe('public, max-age=86400');
  });

  it('serves nothing outside its list of assets', async () => {
    for (const url of [
      '/assets/routes.ts',
      '/assets/..%2Froutes.ts',
      '/assets/%2e%2e%2f%2e%2e%2fcontrol-plane.ts',
      '/assets/jsconfig.json',
      '/assets/constructor',
    ]) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('CP_ERR_API_NOT_FOUND');
    }
  });

  it('answers a matching ETag with 304 and gzips for clients that accept it', async () => {
    const first = await app.inject({ url: '/assets/chart.js' });
    const again = await app.inject({
      url: '/assets/chart.js',
      headers: { 'if-none-match': first.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
    const gz = await app.inject({ url: '/assets/chart.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString('utf8')).toBe(first.body);
  });

  it('has browser code that never parses strings as HTML', () => {
    for (const file of browserModules) {
      const src = staticFile(file).replace(/^\s*(\/\/|\*).*$/gm, '');
      expect(src, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
    }
  });
});
