/**
 * The one setting that chooses the artifact backend: `--artifacts` on `serve` and `agent`, else BSLORA_ARTIFACTS,
 * else the Redis mirror. Parsed here, so that a bad value is refused at start-up with the forms that work.
 */
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlaneError } from '../errors.js';

export type ArtifactsSetting =
  | { kind: 'redis' }
  | { kind: 'file'; dir: string }
  | { kind: 's3'; bucket: string; prefix: string };

export const ARTIFACTS_FORMS =
  "'redis' (the Redis mirror, single host and small setups), 'file:///shared/path' (a filesystem every host " +
  "mounts) or 's3://bucket/prefix' (S3 or an S3-compatible store)";

export const ARTIFACTS_HELP = `where adapters travel between hosts: ${ARTIFACTS_FORMS} (default: BSLORA_ARTIFACTS, else redis)`;

export function parseArtifactsSetting(value: string | undefined): ArtifactsSetting {
  const text = (value ?? '').trim();
  if (text === '' || text === 'redis' || text === 'redis:') return { kind: 'redis' };
  const refuse = (why: string): never => {
    throw new ControlPlaneError(
      'CP_ERR_ARTIFACTS_SETTING',
      `--artifacts / BSLORA_ARTIFACTS ${JSON.stringify(text)} ${why}: use ${ARTIFACTS_FORMS}`,
    );
  };
  if (text.startsWith('file:')) {
    // file:///abs/path (or file://localhost/abs/path): a relative or remote-host file URL names no folder here.
    if (!/^file:\/\/(localhost)?\//.test(text)) refuse('is not a file:/// URL of an absolute path');
    let dir: string;
    try {
      dir = fileURLToPath(text);
    } catch (err) {
      return refuse(`is not a file URL (${(err as Error).message})`);
    }
    if (!isAbsolute(dir)) refuse('names no absolute path');
    return { kind: 'file', dir };
  }
  if (text.startsWith('s3://')) {
    const rest = text.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    // S3's bucket naming rules: 3 to 63 lower-case letters, digits, dots and hyphens.
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      refuse(`names no valid bucket (${JSON.stringify(bucket)})`);
    return { kind: 's3', bucket, prefix };
  }
  return refuse('is not a backend');
}
