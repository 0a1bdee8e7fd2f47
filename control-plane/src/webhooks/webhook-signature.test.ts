import { describe, expect, it } from 'vitest';
import { signGithubPayload, verifyGithubSignature } from './github-signature.js';
import { signWebhookPayload, verifyWebhookSignature } from './webhook-signature.js';

describe('signWebhookPayload', () => {
  const body = JSON.stringify({ event: 'sweep.completed', note: '<script>alert(1)</script>' });

  it('signs "<t>.<body>" with HMAC-SHA256 in the documented header format', async () => {
    const header = signWebhookPayload('s3cret', body, 1_700_000_000);
    const { createHmac } = await import('node:crypto');
    const mac = createHmac('sha256', 's3cret').update(`1700000000.${body}`).digest('hex');
    expect(header).toBe(`t=1700000000,v1=${mac}`);
  });

  it('verifies a fresh signature and refuses a changed body, another secret or a stale timestamp', () => {
    const t = 1_700_000_000;
    const header = signWebhookPayload('s3cret', body, t);
    expect(verifyWebhookSignature('s3cret', body, header, { now: t + 10 })).toBe(true);
    expect(verifyWebhookSignature('s3cret', `${body} `, header, { now: t })).toBe(false);
    expect(verifyWebhookSignature('other', body, header, { now: t })).toBe(false);
    expect(verifyWebhookSignature('s3cret', body, header, { now: t + 301 })).toBe(false);
    expect(verifyWebhookSignature('s3cret', body, undefined)).toBe(false);
    expect(verifyWebhookSignature('s3cret', body, 'v1=abc', { now: t })).toBe(false);
    expect(verifyWebhookSignature('s3cret', body, `t=${t},v1=short`, { now: t })).toBe(false);
  });

  it('accepts any one matching v1 (secret rotation)', () => {
    const t = 1_700_000_000;
    const good = signWebhookPayload('new', body, t).split(',')[1];
    expect(verifyWebhookSignature('new', body, `t=${t},v1=${'0'.repeat(64)},${good}`, { now: t })).toBe(true);
  });
});

describe('verifyGithubSignature', () => {
  it('accepts GitHub’s sha256= signature of the exact bytes and refuses anything else', () => {
    const body = Buffer.from('{"ref":"refs/heads/main"}');
    const header = signGithubPayload('hook-secret', body);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyGithubSignature('hook-secret', body, header)).toBe(true);
    expect(verifyGithubSignature('hook-secret', Buffer.from('{"ref":"refs/heads/evil"}'), header)).toBe(false);
    expect(verifyGithubSignature('wrong', body, header)).toBe(false);
    expect(verifyGithubSignature('hook-secret', body, header.replace('sha256=', 'sha1='))).toBe(false);
    expect(verifyGithubSignature('hook-secret', body, undefined)).toBe(false);
    expect(verifyGithubSignature('hook-secret', body, 'sha256=00')).toBe(false);
  });
});
