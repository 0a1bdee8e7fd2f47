/**
 * `--data-mirror <dir>` on the commands that start workers (`up`, `demo`, `agent`): the folder the workers read named
 * data sets from (hub dataset ids, `llm-adapters:<Set>`) instead of the network, laid out by dataset id and split
 * (docs/data-and-evaluation.md). The mirror is a worker setting because workers read the data: the option sets
 * BSLORA_DATA_MIRROR, which every worker spawned afterwards inherits.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ControlPlaneError } from '../errors.js';

export const DATA_MIRROR_ENV = 'BSLORA_DATA_MIRROR';
export const DATA_MIRROR_HELP = `read named data sets from this folder (laid out by dataset id and split) instead of the network; also ${DATA_MIRROR_ENV}`;

/** Checks `dir` (else BSLORA_DATA_MIRROR, when set) and exports it, absolute, to the workers started from now on. */
export function applyDataMirror(dir: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = dir ?? (env[DATA_MIRROR_ENV] || undefined);
  if (chosen === undefined) return undefined;
  const abs = resolve(chosen);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new ControlPlaneError(
      'CP_ERR_DATA_MIRROR',
      `data mirror ${chosen} is not a folder (resolved to ${abs}); pass --data-mirror <dir> pointing at the mirror`,
    );
  }
  env[DATA_MIRROR_ENV] = abs;
  return abs;
}
