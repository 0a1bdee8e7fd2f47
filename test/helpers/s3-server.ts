/**
 * A local S3-compatible server for tests: moto's server (PyPI `moto[server]`, installed into .venv by
 * infra/scripts/setup.sh through worker-py's `dev` extra), started on a free loopback port with one bucket, and
 * stopped again. No AWS account, no network.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../control-plane/src/worker-process/python-path.js';
import { freePort, waitFor } from './sweep-helpers.js';

export const MOTO_SERVER = join(REPO_ROOT, '.venv/bin/moto_server');

/** What the AWS SDK needs to reach the local server: pass as the environment of S3Backend or a process. */
export interface S3TestServer {
  endpoint: string;
  bucket: string;
  env: NodeJS.ProcessEnv;
  client: S3Client;
  stop(): Promise<void>;
}

export async function startS3Server(bucket = 'bslora-test'): Promise<S3TestServer> {
  if (!existsSync(MOTO_SERVER)) {
    throw new Error(`${MOTO_SERVER} is missing: run infra/scripts/setup.sh (it installs worker-py[dev], with moto)`);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server: ResultPromise = execa(MOTO_SERVER, ['-H', '127.0.0.1', '-p', String(port)], {
    reject: false,
    all: true,
    buffer: false,
  });
  let output = '';
  server.all!.on('data', (d: Buffer) => (output += d.toString()));
  // Fake credentials: moto accepts any; the SDK only needs some.
  const env: NodeJS.ProcessEnv = {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: endpoint,
  };
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const stop = async () => {
    client.destroy();
    server.kill('SIGTERM');
    await server;
  };
  try {
    await waitFor(
      async () => {
        if (server.exitCode !== null) throw new Error(`moto_server exited:\n${output}`);
        try {
          await client.send(new CreateBucketCommand({ Bucket: bucket }));
          return true;
        } catch {
          return undefined;
        }
      },
      30_000,
      `moto_server on ${endpoint}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, bucket, env, client, stop };
}
