/**
 * Read auth: with it on, reading sweeps, results, trial errors, webhook deliveries, workers and event streams needs
 * the API token too (`--read-auth`; on by default when the API listens beyond loopback). `/healthz`, `/readyz`,
 * `/metrics`, the OpenAPI document and the dashboard's static assets stay open.
 *
 * Browsers cannot add a header to the dashboard's requests, so the dashboard is opened once with `?token=<token>`:
 * the server checks it, keeps it in an HttpOnly, SameSite=Strict cookie and redirects to the same page without it.
 * The cookie is accepted for reads only; every write still needs the `Authorization` header, so a cross-site form
 * can change nothing.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ControlPlaneError } from '../errors.js';
import { bearerToken, secretEquals } from './auth-token.js';
import { sendError } from './send-error.js';

export const READ_COOKIE = 'bslora_token';

/** Read auth's default: on unless BSLORA_READ_AUTH says otherwise or the API listens on loopback only. */
export function defaultReadAuth(host: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.BSLORA_READ_AUTH === '1' || env.BSLORA_READ_AUTH === 'true') return true;
  if (env.BSLORA_READ_AUTH === '0' || env.BSLORA_READ_AUTH === 'false') return false;
  return !isLoopbackHost(host);
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Whether a GET of `path` shows stored data (and so needs the token under read auth). */
export function isProtectedRead(path: string): boolean {
  if (path === '/api/v1/openapi.json') return false;
  return path.startsWith('/api/v1/') || path.startsWith('/sweeps/') || path === '/api/v1';
}

function cookieToken(req: FastifyRequest): string | null {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === READ_COOKIE) return decodeURIComponent(value.join('='));
  }
  return null;
}

/**
 * The read-auth check of one GET/HEAD request; sends 401 (or the cookie-setting redirect) and returns true when
 * the request has been answered.
 */
export function checkRead(req: FastifyRequest, reply: FastifyReply, token: string): boolean {
  const url = new URL(req.url, 'http://x');
  const given = url.searchParams.get('token');
  const isPage = url.pathname === '/' || url.pathname.startsWith('/sweeps/');
  if (isPage && given !== null) {
    if (!secretEquals(given, token)) {
      sendError(
        reply,
        new ControlPlaneError('CP_ERR_UNAUTHORIZED', 'the ?token= given to the dashboard is not the API token'),
      );
      return true;
    }
    url.searchParams.delete('token');
    reply
      .header('set-cookie', `${READ_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`)
      .redirect(`${url.pathname}${url.search}`, 303);
    return true;
  }
  if (!isProtectedRead(url.pathname)) return false;
  if (secretEquals(bearerToken(req.headers.authorization), token) || secretEquals(cookieToken(req), token))
    return false;
  sendError(
    reply,
    new ControlPlaneError(
      'CP_ERR_UNAUTHORIZED',
      'this control plane requires the token for reads too: send Authorization: Bearer <token>, or open the dashboard once with ?token=<token>',
    ),
  );
  return true;
}
