/**
 * Test Redis helpers: one real Redis (BSLORA_TEST_REDIS_URL, default 127.0.0.1:6379), a unique BullMQ key prefix
 * per test, and cleanup of every key under that prefix afterwards (BullMQ's own test style).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.BSLORA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label: string): string {
  return `bslora-test-${label}-${randomUUID().slice(0, 8)}`;
}

export async function deleteKeysWithPrefix(prefix: string): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export async function countKeysWithPrefix(prefix: string): Promise<number> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    // SCAN's COUNT is a hint, not a limit: only a walk back to cursor 0 has seen every key (and a key may be returned
    // more than once, hence the set).
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      for (const k of keys) seen.add(k);
    } while (cursor !== '0');
    return seen.size;
  } finally {
    redis.disconnect();
  }
}
