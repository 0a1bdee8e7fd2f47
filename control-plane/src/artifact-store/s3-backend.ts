/**
 * An S3 bucket (or any S3-compatible store): adapters as `<prefix>/<sha256>.tar`. A PutObject becomes visible whole
 * or not at all. Each upload carries its sha256 (x-amz-checksum-sha256), which AWS S3 checks before storing; not
 * every S3-compatible server does (moto, which the tests use, does not), so reads are verified in any case.
 *
 * Credentials and region come from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, instance or pod
 * roles, AWS_REGION); AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL points it at an S3-compatible server (path-style
 * addressing then, which such servers expect).
 */
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ArtifactBackend } from './artifact-backend.js';

export interface S3BackendOptions {
  bucket: string;
  /** Key prefix without a trailing slash ('' for the bucket's root). */
  prefix: string;
  /** @defaultValue AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS's own endpoint */
  endpoint?: string;
  env?: NodeJS.ProcessEnv;
}

export class S3Backend implements ArtifactBackend {
  readonly description: string;
  private readonly client: S3Client;

  constructor(private readonly opts: S3BackendOptions) {
    const env = opts.env ?? process.env;
    const endpoint = opts.endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
    this.client = new S3Client({
      endpoint,
      forcePathStyle: endpoint !== undefined,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
      // Keys in the given environment first (as the SDK's own chain does with process.env); else that chain.
      credentials:
        env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
          ? {
              accessKeyId: env.AWS_ACCESS_KEY_ID,
              secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
              sessionToken: env.AWS_SESSION_TOKEN || undefined,
            }
          : undefined,
      // The sha256 checksum is sent explicitly below; no second (CRC) checksum, which not every S3-compatible
      // server accepts.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
    this.description = `s3://${opts.bucket}/${opts.prefix}`;
  }

  private key(sha256: string): string {
    return this.opts.prefix ? `${this.opts.prefix}/${sha256}.tar` : `${sha256}.tar`;
  }

  async put(sha256: string, data: Buffer): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.opts.bucket,
        Key: this.key(sha256),
        Body: data,
        ContentType: 'application/x-tar',
        ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
      }),
    );
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key(sha256) }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
