/**
 * Signatures of outgoing webhooks: `X-Bslora-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
 * The timestamp inside the signed text lets a receiver refuse replays older than its tolerance (Stripe's scheme).
 *
 * @example
 * const header = signWebhookPayload(secret, body);            // sender
 * verifyWebhookSignature(secret, body, header);               // receiver: true, or false when forged or stale
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-bslora-signature';

/** The `X-Bslora-Signature` value for `body` signed at `timestamp` (unix seconds). */
export function signWebhookPayload(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** Options for {@link verifyWebhookSignature}. */
export interface VerifyWebhookOptions {
  /** Largest accepted age (and clock skew) of the timestamp, in seconds. @defaultValue 300 */
  toleranceSeconds?: number;
  /** The receiver's clock, unix seconds. @defaultValue now */
  now?: number;
}

/** Whether `header` is a valid signature of `body` (constant-time compare; any one `v1` may match). */
export function verifyWebhookSignature(
  secret: string,
  body: string,
  header: string | undefined,
  opts: VerifyWebhookOptions = {},
): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim().split('=', 2) as [string, string | undefined]);
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t)) return false;
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (opts.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  return parts
    .filter(([k, v]) => k === 'v1' && v !== undefined)
    .some(([, v]) => {
      const given = Buffer.from(v!);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}
