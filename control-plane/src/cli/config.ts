/** Settings every command reads from the environment, once. */
import { resolve } from 'node:path';

export interface CliConfig {
  /** State directory: store, artifacts, worker run dirs, API token. @defaultValue ./.bslora */
  homeDir: string;
  redisUrl: string;
  /** BullMQ key prefix shared by the control plane and its agents. @defaultValue 'bslora' */
  prefix: string;
  /** Where `sweep …` commands find a running control plane. */
  apiUrl: string;
  host: string;
  port: number;
  /** Where adapters travel between hosts (BSLORA_ARTIFACTS; artifact-store/artifacts-setting.ts); unset: Redis. */
  artifacts?: string;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const host = env.BSLORA_HOST ?? '127.0.0.1';
  const port = Number(env.BSLORA_PORT ?? 7433);
  return {
    homeDir: resolve(env.BSLORA_HOME ?? '.bslora'),
    redisUrl: env.BSLORA_REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix: env.BSLORA_PREFIX ?? 'bslora',
    apiUrl: env.BSLORA_API_URL ?? `http://${host}:${port}`,
    host,
    port,
    artifacts: env.BSLORA_ARTIFACTS,
  };
}
