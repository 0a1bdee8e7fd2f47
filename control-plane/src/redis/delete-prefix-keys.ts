/**
 * Deletes every key under a BullMQ prefix (`<prefix>:*`), for a stack that owns its prefix and must leave nothing in
 * a Redis it shares with others (`bslora demo` runs under `bslora-demo-<pid>`).
 */
import { Redis } from 'ioredis';

/** Returns how many keys were deleted. SCAN in pages and UNLINK, so a large queue does not block Redis. */
export async function deletePrefixKeys(redisUrl: string, prefix: string): Promise<number> {
  if (!prefix || /[*?[\]\\]/.test(prefix))
    throw new Error(`refusing to delete keys under the pattern-like prefix '${prefix}'`);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => {});
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
