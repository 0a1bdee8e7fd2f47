/**
 * The Redis mirror: adapters under `<prefix>:adapter:<sha256>` for a week. Redis is already the one component every
 * host reaches, so single-host and small setups need nothing more; its memory is the limit, hence the size cap.
 */
import type { Redis } from 'ioredis';
import { ControlPlaneError } from '../errors.js';
import type { ArtifactBackend } from './artifact-backend.js';
import { ARTIFACTS_FORMS } from './artifacts-setting.js';

const MIRROR_TTL_SECONDS = 7 * 24 * 3600;

/** Largest adapter the mirror takes (BSLORA_ARTIFACTS_REDIS_MAX_BYTES overrides): 64 MiB. */
export const DEFAULT_REDIS_MAX_BYTES = 64 * 1024 * 1024;

export function redisMaxBytesFrom(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.BSLORA_ARTIFACTS_REDIS_MAX_BYTES;
  if (raw === undefined || raw === '') return DEFAULT_REDIS_MAX_BYTES;
  const n = Number(raw);
  // Redis refuses values over 512 MB (proto-max-bulk-len).
  if (!Number.isInteger(n) || n < 1 || n > 512 * 1024 * 1024) {
    throw new ControlPlaneError(
      'CP_ERR_ARTIFACTS_SETTING',
      `BSLORA_ARTIFACTS_REDIS_MAX_BYTES ${JSON.stringify(raw)} is not a whole number of bytes from 1 to 536870912`,
    );
  }
  return n;
}

export class RedisMirrorBackend implements ArtifactBackend {
  readonly description = 'the Redis mirror';

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly maxBytes: number = DEFAULT_REDIS_MAX_BYTES,
  ) {}

  private key(sha256: string): string {
    return `${this.prefix}:adapter:${sha256}`;
  }

  async put(sha256: string, data: Buffer): Promise<void> {
    if (data.length > this.maxBytes) {
      throw new ControlPlaneError(
        'CP_ERR_ARTIFACT_TOO_LARGE',
        `adapter ${sha256} is ${data.length} bytes, over the Redis mirror's cap of ${this.maxBytes} bytes ` +
          `(BSLORA_ARTIFACTS_REDIS_MAX_BYTES): store adapters this large on a shared filesystem or S3 with ` +
          `--artifacts / BSLORA_ARTIFACTS, one of ${ARTIFACTS_FORMS}`,
      );
    }
    // One SET: Redis stores the value whole or not at all. NX: the first copy of these bytes stays.
    await this.redis.set(this.key(sha256), data, 'EX', MIRROR_TTL_SECONDS, 'NX');
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.key(sha256))) ?? undefined;
  }
}
