/**
 * The folders the control plane and its workers read local models and data from (docs/security.md). A spec's local
 * path is accepted only when it lies under one of them, symlinks resolved.
 *
 * - Server (`bslora up`, `bslora serve`, `bslora agent`): `BSLORA_DATA_ROOTS` (colon-separated) when set, else
 *   `$BSLORA_HOME/data`; the artifacts folder is always one of them.
 * - CLI (`bslora sweep submit`): the spec file's folder, plus each `--root`.
 */
import { join } from 'node:path';
import { resolve } from 'node:path';

/** The data roots of a deployment whose state lives in `homeDir`. */
export function serverDataRoots(homeDir: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const configured = (env.BSLORA_DATA_ROOTS ?? '')
    .split(':')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => resolve(r));
  return [...new Set([...(configured.length > 0 ? configured : [join(homeDir, 'data')]), join(homeDir, 'artifacts')])];
}
