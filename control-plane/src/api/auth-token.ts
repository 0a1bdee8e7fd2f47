/**
 * The API's bearer token: `BSLORA_API_TOKEN` when set, else one generated on first start and kept (mode 0600) in
 * the home directory, so the local CLI can read it. Compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function loadOrCreateToken(homeDir: string): { token: string; created: boolean } {
  if (process.env.BSLORA_API_TOKEN) return { token: process.env.BSLORA_API_TOKEN, created: false };
  const path = join(homeDir, 'api-token');
  if (existsSync(path)) return { token: readFileSync(path, 'utf8').trim(), created: false };
  mkdirSync(homeDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}

export function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
