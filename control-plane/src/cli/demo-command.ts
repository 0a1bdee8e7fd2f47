/**
 * `bslora demo`: the first run. Starts a private stack (Redis if needed, control plane, one worker, API on a free
 * port), runs a real sweep (SmolLM2-135M on builtin:arith, jobs/smollm2-arith.yaml; `--tiny` for the random tiny
 * model of jobs/quickstart.yaml), follows it on the live progress board, prints its table, writes the
 * parameters-against-accuracy chart next to the results, says how to open the dashboard on them, and stops
 * everything.
 */
import { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import type { CliConfig } from './config.js';
import { DATA_MIRROR_HELP, applyDataMirror } from './data-mirror-option.js';
import type { CliIo } from './sweep-command.js';

export const DEMO_SPEC = fileURLToPath(new URL('../../../jobs/smollm2-arith.yaml', import.meta.url));
export const QUICKSTART_SPEC = fileURLToPath(new URL('../../../jobs/quickstart.yaml', import.meta.url));

interface DemoOptions {
  json?: boolean;
  fresh?: boolean;
  tiny?: boolean;
  dataMirror?: string;
}

export function makeDemoCommand(config: CliConfig, io: CliIo): Command {
  const cmd = new Command('demo');
  return cmd
    .description(
      'run the demo sweep on this machine, offline: SmolLM2-135M learning arithmetic, base vs LoRA vs BSLoRA',
    )
    .argument('[spec]', 'sweep spec to run instead of the demo (jobs/smollm2-arith.yaml)')
    .option(
      '--tiny',
      'the smoke run instead: a random tiny Llama (jobs/quickstart.yaml), LoRA vs BSLoRA, seconds not minutes',
    )
    .option('--json', 'print the finished sweep as JSON (and nothing else) on stdout')
    .option('--fresh', 'train every trial again (a new demo home) instead of reusing results of earlier demo runs')
    .option('--data-mirror <dir>', DATA_MIRROR_HELP)
    .addHelpText(
      'after',
      '\nExamples:\n  $ bslora demo\n  $ bslora demo --tiny\n  $ bslora demo jobs/smollm2-commonsense.yaml',
    )
    .action(async (specArg: string | undefined, opts: DemoOptions) => {
      if (specArg && opts.tiny)
        cmd.error(`error: give either a spec (${specArg}) or --tiny, not both`, {
          exitCode: 2,
          code: 'bslora.demoUsage',
        });
      applyDataMirror(opts.dataMirror);
      // Loaded here, not at the top: `bslora --help` and the other commands start without the stack's modules.
      const { runDemo } = await import('./run-demo.js');
      await runDemo(config, io, specArg ?? (opts.tiny ? QUICKSTART_SPEC : DEMO_SPEC), opts);
    });
}

export type { DemoOptions };
