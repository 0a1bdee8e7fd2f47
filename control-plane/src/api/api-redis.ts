/**
 * The API's own small Redis client, for `/readyz`, `/metrics` and the worker list: created on first use, and every
 * call bounded by a timeout so that an unreachable Redis makes those endpoints answer "not ready" instead of hang.
 */
import type { ConnectionOptions } from 'bullmq';
import { newRedisClient, type RedisClient } from '../redis/redis-connection.js';

export class ApiRedis {
  private client?: RedisClient;

  constructor(private readonly connection: ConnectionOptions) {}

  private get(): RedisClient {
    if (!this.client) {
      this.client = newRedisClient(this.connection, {
        maxRetriesPerRequest: 1,
        connectTimeout: 1_000,
        lazyConnect: false,
      });
      // Errors surface through the calls below; an unhandled 'error' event must not crash the process.
      this.client.on('error', () => {});
    }
    return this.client;
  }

  /** Runs `fn` against Redis, rejecting after `timeoutMs`. */
  async run<T>(fn: (redis: RedisClient) => Promise<T>, timeoutMs = 1_500): Promise<T> {
    return withTimeout(fn(this.get()), timeoutMs, `Redis did not answer within ${timeoutMs} ms`);
  }

  close(): void {
    this.client?.disconnect();
    this.client = undefined;
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
