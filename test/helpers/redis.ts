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
    const [, keys] = await redis.scan('0', 'MATCH', `${prefix}:*`, 'COUNT', 10_000);
    return keys.length;
  } finally {
    redis.disconnect();
  }
}
