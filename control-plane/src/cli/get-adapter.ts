/**
 * What `bslora adapter get` does: find the trial (by name or key, or the best one), download its adapter archive,
 * check it against its sha256, and write the files with a model card into a new or empty directory. Everything is
 * checked before the first file is written; the files go into a temporary sibling directory renamed into place.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pickBestTrial, type BestOptions, type ResultsTrial } from '../adapters/pick-best-trial.js';
import { cardFacts, renderModelCard, type CardInput } from '../adapters/model-card.js';
import { readTar } from '../adapters/read-tar.js';
import { loadOrCreateToken } from '../api/auth-token.js';
import { ControlPlaneError } from '../errors.js';
import { ApiClient } from './api-client.js';
import type { CliConfig } from './config.js';
import type { CliIo } from './sweep-command.js';

export interface GetAdapterRequest {
  sweepId: string;
  /** Trial name or key; null: the best one. */
  trial: string | null;
  dir: string | undefined;
  best: BestOptions;
  json: boolean;
}

interface ResultsDoc {
  sweepId: string;
  trials: (ResultsTrial & { plan: Record<string, unknown>; result: CardInput['trial']['result'] | null })[];
}

export async function getAdapter(config: CliConfig, io: CliIo, req: GetAdapterRequest): Promise<void> {
  const api = new ApiClient(config.apiUrl, loadOrCreateToken(config.homeDir).token);
  const sweepPath = `/api/v1/sweeps/${encodeURIComponent(req.sweepId)}`;
  const sweep = await api.request<{ id: string; name: string }>('GET', sweepPath);
  const results = await api.request<ResultsDoc>('GET', `${sweepPath}/results?include=plan,result`);

  let trial: ResultsDoc['trials'][number];
  let why: string | null = null;
  if (req.trial === null) {
    const picked = pickBestTrial(results.trials, req.best);
    trial = picked.trial as ResultsDoc['trials'][number];
    why = picked.why;
  } else {
    const found = results.trials.find((t) => t.name === req.trial || t.trialKey === req.trial);
    if (!found) {
      throw new ControlPlaneError(
        'CP_ERR_TRIAL_NOT_FOUND',
        `sweep ${req.sweepId} has no trial named or keyed ${JSON.stringify(req.trial)}; its trials: ${results.trials.map((t) => t.name).join(', ')}`,
      );
    }
    trial = found;
  }

  const dir = resolve(req.dir ?? trial.name.replace(/[^A-Za-z0-9._-]/g, '_'));
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new ControlPlaneError('CP_ERR_OUTPUT_EXISTS', `${dir} is not empty: name a new or empty directory`);
  }

  const { data, header } = await api.download(`${sweepPath}/trials/${encodeURIComponent(trial.trialKey)}/adapter`);
  const announced = header('x-adapter-sha256');
  const actual = createHash('sha256').update(data).digest('hex');
  if (announced !== actual) {
    throw new ControlPlaneError(
      'CP_ERR_ADAPTER_INVALID',
      `the adapter of ${trial.name} arrived with sha256 ${actual}, but the server announced ${announced ?? 'none'}: fetch it again`,
    );
  }
  const files = readTar(data);
  const configFile = files.find((f) => f.name === 'adapter_config.json');
  if (!configFile)
    throw new ControlPlaneError('CP_ERR_ADAPTER_INVALID', `the adapter of ${trial.name} has no adapter_config.json`);

  const input: CardInput = {
    sweep: { id: sweep.id, name: sweep.name, apiUrl: config.apiUrl },
    trial: {
      trialKey: trial.trialKey,
      name: trial.name,
      method: trial.method,
      plan: trial.plan,
      config: trial.config ?? {},
      result: trial.result!,
    },
    adapterConfig: JSON.parse(configFile.data.toString('utf8')) as Record<string, unknown>,
  };
  const facts = cardFacts(input);

  // Written beside the target, then renamed into place: a failure leaves no half-written directory behind.
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = `${dir}.part-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    for (const f of files) {
      mkdirSync(dirname(join(tmp, f.name)), { recursive: true });
      writeFileSync(join(tmp, f.name), f.data);
    }
    writeFileSync(join(tmp, 'README.md'), renderModelCard(input));
    writeFileSync(join(tmp, 'bslora-trial.json'), `${JSON.stringify(facts, null, 2)}\n`);
    if (existsSync(dir)) rmdirSync(dir); // empty, checked above
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }

  const summary = {
    dir,
    sweepId: sweep.id,
    trial: trial.name,
    trialKey: trial.trialKey,
    method: trial.method,
    sha256: actual,
    meanAcc: trial.meanAcc,
    trainable: trial.trainable,
    files: [...files.map((f) => f.name), 'README.md', 'bslora-trial.json'],
    why,
  };
  if (req.json) {
    io.out.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  if (why) io.out.write(`best: ${why}\n`);
  const acc = trial.meanAcc === null ? '-' : `${(100 * trial.meanAcc).toFixed(1)}%`;
  io.out.write(
    `wrote ${trial.name} (${trial.method}, ${trial.trainable?.toLocaleString('en-US') ?? '-'} trainable, mean acc ${acc}) to ${dir}\n`,
  );
  io.out.write(
    `load it: ${trial.method === 'bslora' ? 'import bslora; ' : ''}from peft import PeftModel; PeftModel.from_pretrained(base_model, ${JSON.stringify(dir)})\n`,
  );
}
