/**
 * Deletes every key under a BullMQ prefix (`<prefix>:*`), for a stack that owns its prefix and must leave nothing in
 * a Redis it shares with others (`bslora demo` runs under `bslora-demo-<pid>`).
 */
import { keyPrefixFor, redisClientFromUrl, serversOf } from './redis-connection.js';

/**
 * Returns how many keys were deleted. SCAN in pages and UNLINK, so a large queue does not block Redis; on a cluster,
 * every master is scanned (under the prefix's hash tag, `keyPrefixFor`, as the deployment wrote them).
 */
export async function deletePrefixKeys(redisUrl: string, prefix: string): Promise<number> {
  if (!prefix || /[*?[\]\\]/.test(prefix))
    throw new Error(`refusing to delete keys under the pattern-like prefix '${prefix}'`);
  const keyPrefix = keyPrefixFor(redisUrl, prefix);
  const redis = redisClientFromUrl(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => {});
  let deleted = 0;
  try {
    await redis.connect();
    for (const server of serversOf(redis)) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000);
        cursor = next;
        // One key per UNLINK on a cluster: a page may hold keys of several slots (a prefix without a hash tag).
        if (keys.length === 0) continue;
        if (server === redis) deleted += await redis.unlink(...keys);
        else for (const n of await Promise.all(keys.map((k) => redis.unlink(k)))) deleted += n;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}
