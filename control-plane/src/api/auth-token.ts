/**
 * The API's bearer token: `BSLORA_API_TOKEN` when set, else one generated on first start and kept (mode 0600) in
 * the home directory, so the local CLI can read it. Checked at start: an empty token (an empty file, an empty
 * variable) would leave every write refused with no warning, so it is an error instead. Compared in constant time;
 * the scheme (`Bearer`) is case-insensitive, as RFC 7235 says.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlaneError } from '../errors.js';

function checked(token: string, where: string): string {
  if (token.length === 0) {
    throw new ControlPlaneError(
      'CP_ERR_TOKEN_INVALID',
      `the API token in ${where} is empty; delete the file to have one generated, or put a token in it`,
    );
  }
  if (/\s/.test(token))
    throw new ControlPlaneError(
      'CP_ERR_TOKEN_INVALID',
      `the API token in ${where} contains whitespace; use one line of printable characters`,
    );
  return token;
}

export function loadOrCreateToken(
  homeDir: string,
  env: NodeJS.ProcessEnv = process.env,
): { token: string; created: boolean } {
  if (env.BSLORA_API_TOKEN !== undefined)
    return { token: checked(env.BSLORA_API_TOKEN.trim(), 'BSLORA_API_TOKEN'), created: false };
  const path = join(homeDir, 'api-token');
  if (existsSync(path)) return { token: checked(readFileSync(path, 'utf8').trim(), path), created: false };
  mkdirSync(homeDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}

/** The token of an `Authorization: Bearer <token>` header (any case of "Bearer"), or null. */
export function bearerToken(header: string | undefined): string | null {
  const m = /^bearer +(\S+) *$/i.exec(header ?? '');
  return m ? m[1]! : null;
}

export function tokenMatches(header: string | undefined, token: string): boolean {
  return secretEquals(bearerToken(header), token);
}

/** Constant-time comparison of a presented secret with the expected one. */
export function secretEquals(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
