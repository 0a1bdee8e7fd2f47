/**
 * `bslora demo`: the quick start. Starts a private stack (Redis if needed, control plane, one worker, API on a free
 * port), runs a real sweep on the embedded defaults (jobs/quickstart.yaml), prints its table, and stops everything.
 */
import { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../local-stack.js';
import { serverDataRoots } from '../data-roots.js';
import { localRefsOf } from '../sweep-specs/parse-sweep-spec.js';
import { loadSweepSpecFile } from '../sweep-specs/index.js';
import { ApiClient } from './api-client.js';
import type { CliConfig } from './config.js';
import { DATA_MIRROR_HELP, applyDataMirror } from './data-mirror-option.js';
import type { CliIo } from './sweep-command.js';
import { resultTable } from './sweep-view.js';
import { waitForSweep } from './wait-for-sweep.js';
import { expectLines, sweepOutcomeError, type ExpectSummary } from './expect-view.js';

export const QUICKSTART_SPEC = fileURLToPath(new URL('../../../jobs/quickstart.yaml', import.meta.url));

export function makeDemoCommand(config: CliConfig, io: CliIo): Command {
  return new Command('demo')
    .description('run the quick-start sweep on this machine, offline, and print its result table')
    .argument('[spec]', 'sweep spec to run instead of the quick start', QUICKSTART_SPEC)
    .option('--json', 'print the finished sweep as JSON')
    .option('--fresh', 'train every trial again instead of reusing results of earlier demo runs')
    .option('--data-mirror <dir>', DATA_MIRROR_HELP)
    .addHelpText('after', '\nExample:\n  $ bslora demo\n  $ bslora demo jobs/smollm2-commonsense.yaml')
    .action(async (specPath: string, opts: { json?: boolean; fresh?: boolean; dataMirror?: string }) => {
      applyDataMirror(opts.dataMirror);
      const spec = await loadSweepSpecFile(specPath);
      // Results of earlier demo runs are reused by trial key, as for any sweep; --fresh starts from an empty store.
      const home = opts.fresh ? mkdtempSync(join(tmpdir(), 'bslora-demo-')) : join(config.homeDir, 'demo');
      const stack = await startLocalStack({
        homeDir: home,
        redisUrl: config.redisUrl,
        prefix: `bslora-demo-${process.pid}`,
        port: 0,
        // A private stack for the user who runs it: its workers may read exactly the files the spec names.
        dataRoots: [...serverDataRoots(home), ...localRefsOf(spec).map((r) => r.absPath)],
        // The demo's queues are its own: nothing of them stays in the user's Redis, whether it ends or is stopped.
        deleteKeysOnStop: true,
        log: (line) => (process.env.BSLORA_VERBOSE ? io.err.write(`${line}\n`) : undefined),
      });
      const stopOnSignal = () => void stack.stop().then(() => process.exit(130));
      process.once('SIGINT', stopOnSignal);
      process.once('SIGTERM', stopOnSignal);
      try {
        const submitted = await stack.controlPlane.submit(spec);
        io.out.write(
          `sweep ${submitted.sweepId} (${spec.name}): ${submitted.trials.length} trials, ${submitted.reused.length} reused\n`,
        );
        const done = await waitForSweep(new ApiClient(stack.apiUrl!, stack.token), submitted.sweepId, io.out, {
          quiet: opts.json,
        });
        const verdicts = expectLines((done as { summary?: unknown }).summary as ExpectSummary | null);
        io.out.write(
          opts.json ? `${JSON.stringify(done)}\n` : `\n${resultTable(done)}\n${verdicts ? `\n${verdicts}\n` : ''}`,
        );
        // Same rule as `sweep submit --wait`: failed trials or failed expect rules make the exit code non-zero.
        const outcome = sweepOutcomeError(done);
        if (outcome) throw outcome;
      } finally {
        process.off('SIGINT', stopOnSignal);
        process.off('SIGTERM', stopOnSignal);
        await stack.controlPlane.queueCounts().catch(() => undefined);
        await stack.stop();
        if (opts.fresh) rmSync(home, { recursive: true, force: true });
      }
    });
}
