/** Opens the backend a setting names (artifacts-setting.ts). */
import type { Redis } from 'ioredis';
import type { ArtifactBackend } from './artifact-backend.js';
import { parseArtifactsSetting } from './artifacts-setting.js';
import { FileBackend } from './file-backend.js';
import { RedisMirrorBackend, redisMaxBytesFrom } from './redis-mirror-backend.js';

export async function openArtifactBackend(
  setting: string | undefined,
  mirror: { redis: Redis; prefix: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ArtifactBackend> {
  const parsed = parseArtifactsSetting(setting);
  switch (parsed.kind) {
    case 'redis':
      return new RedisMirrorBackend(mirror.redis, mirror.prefix, redisMaxBytesFrom(env));
    case 'file':
      return new FileBackend(parsed.dir);
    case 's3': {
      // Loaded only when chosen: the AWS SDK is large, and most setups never need it.
      const { S3Backend } = await import('./s3-backend.js');
      return new S3Backend({ bucket: parsed.bucket, prefix: parsed.prefix, env });
    }
  }
}
