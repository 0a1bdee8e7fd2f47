/**
 * Where outgoing webhooks may go. A destination must be an http(s) URL whose host is on the operator's allowlist
 * (`BSLORA_WEBHOOK_ALLOW_HOSTS`: names, or `*.example.com` for a domain's subdomains); and every address it
 * resolves to must be public: loopback, private, link-local (cloud metadata included), shared, multicast and
 * reserved networks are refused unless a network listed in `BSLORA_WEBHOOK_ALLOW_NETWORKS` (CIDRs) contains the
 * address. The host check runs at submit; the address check runs again at delivery, on the addresses the
 * connection is made to (no second lookup to rebind), and redirects are never followed.
 */
import { BlockList, isIP } from 'node:net';

export interface WebhookPolicy {
  /** Host names (lower case) or `*.domain` patterns; empty: no webhook destination is allowed. */
  allowHosts: string[];
  /** Networks allowed even though they are not public (the loopback, for tests and local receivers). */
  allowNetworks: BlockList;
  allowNetworksText: string[];
}

/** The policy the operator configured in `env`. */
export function webhookPolicyFrom(env: NodeJS.ProcessEnv = process.env): WebhookPolicy {
  const allowHosts = (env.BSLORA_WEBHOOK_ALLOW_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const allowNetworks = new BlockList();
  const allowNetworksText: string[] = [];
  for (const cidr of (env.BSLORA_WEBHOOK_ALLOW_NETWORKS ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean)) {
    const [net, bits] = cidr.split('/');
    const family = isIP(net ?? '');
    if (family === 0) continue;
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
    allowNetworks.addSubnet(net!, prefix, family === 4 ? 'ipv4' : 'ipv6');
    allowNetworksText.push(cidr);
  }
  return { allowHosts, allowNetworks, allowNetworksText };
}

const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address (`::ffff:127.0.0.1`, `::ffff:7f00:1`). */
function embeddedIpv4(address: string): string | null {
  const m = /^::(?:ffff:)?(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!m) return null;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Why `address` may not receive a webhook, or null when it may. */
export function refusedAddress(address: string, policy: WebhookPolicy): string | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const v4 = isIP(bare) === 6 ? embeddedIpv4(bare) : null;
  const checks: [string, 'ipv4' | 'ipv6'][] = [[bare, isIP(bare) === 4 ? 'ipv4' : 'ipv6']];
  if (v4) checks.push([v4, 'ipv4']);
  if (isIP(bare) === 0) return 'is not an IP address';
  if (checks.some(([a, t]) => policy.allowNetworks.check(a, t))) return null;
  if (checks.some(([a, t]) => NON_PUBLIC.check(a, t))) {
    return 'is a loopback, private, link-local or reserved address; an operator can allow its network with BSLORA_WEBHOOK_ALLOW_NETWORKS';
  }
  return null;
}

function hostAllowed(host: string, policy: WebhookPolicy): boolean {
  return policy.allowHosts.some((h) =>
    h.startsWith('*.') ? host.endsWith(h.slice(1)) && host.length > h.length - 1 : host === h,
  );
}

/**
 * Why a webhook may not be sent to `url`, or null when it may (as far as can be told without resolving it).
 * Messages say what is allowed, never what the host resolves to.
 */
export function refusedUrl(url: string, policy: WebhookPolicy): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must be an http or https URL';
  if (parsed.username || parsed.password) return 'must not carry a user name or password';
  // The URL parser has already turned 2130706433, 127.1 and 0x7f.1 into 127.0.0.1.
  const host = parsed.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (!hostAllowed(host, policy)) {
    return policy.allowHosts.length === 0
      ? 'cannot be used: this control plane allows no webhook destinations (the operator sets BSLORA_WEBHOOK_ALLOW_HOSTS)'
      : `has host ${host}, which is not in this control plane's webhook allowlist (BSLORA_WEBHOOK_ALLOW_HOSTS: ${policy.allowHosts.join(', ')})`;
  }
  if (isIP(host) !== 0) {
    const refused = refusedAddress(host, policy);
    if (refused) return `has host ${host}, which ${refused}`;
  }
  return null;
}
