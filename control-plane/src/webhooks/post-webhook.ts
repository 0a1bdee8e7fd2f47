/**
 * One webhook POST over node:http(s), connected only to addresses the destination policy allows: the host is
 * resolved by a lookup that refuses non-public addresses (so DNS cannot point an allowed name at the loopback), and
 * a redirect is an answer like any other, never followed.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { refusedAddress, refusedUrl, type WebhookPolicy } from './destination-policy.js';

/** A destination the policy refuses; never retried. */
export class RefusedDestinationError extends Error {}

function guardedLookup(policy: WebhookPolicy): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      const refused = addresses.map((a) => refusedAddress(a.address, policy)).find((r) => r !== null);
      if (refused || addresses.length === 0) {
        return callback(
          new RefusedDestinationError(`${hostname} resolves to an address that ${refused ?? 'is missing'}`),
        );
      }
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as LookupFunction;
}

/** POSTs `body` to `url`; resolves with the status code (3xx included: not followed). */
export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { policy: WebhookPolicy; timeoutMs: number },
): Promise<number> {
  const refused = refusedUrl(url, opts.policy);
  if (refused) return Promise.reject(new RefusedDestinationError(`the destination ${refused}`));
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup(opts.policy),
        timeout: opts.timeoutMs,
      },
      (res) => {
        // The answer's body is not needed: drain it, up to a bound.
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 64 * 1024) res.destroy();
        });
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('close', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${opts.timeoutMs} ms`), { name: 'TimeoutError' })),
    );
    req.on('error', reject);
    req.end(body);
  });
}
