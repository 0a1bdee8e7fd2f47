/**
 * GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` with the hook's
 * shared secret, compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const GITHUB_SIGNATURE_HEADER = 'x-hub-signature-256';

/** The header value GitHub sends for `body` (tests and docs use it to sign). */
export function signGithubPayload(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Whether `header` is GitHub's signature of exactly these bytes. */
export function verifyGithubSignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const given = Buffer.from(header);
  const expected = Buffer.from(signGithubPayload(secret, body));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
