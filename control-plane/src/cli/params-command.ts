/**
 * `bslora params <spec>`: every trial's trainable-parameter breakdown without training (count-params.ts does the
 * work and is loaded only when the command runs).
 */
import { Command } from 'commander';
import type { ParamsOptions } from './count-params.js';
import type { CliConfig } from './config.js';
import type { CliIo } from './sweep-command.js';

export type { ParamsReport, TrialParams } from './count-params.js';

export function makeParamsCommand(_config: CliConfig, io: CliIo): Command {
  return new Command('params')
    .description(
      "print every trial's trainable parameters (local, intra, inter, transform, total, share of LoRA) without training",
    )
    .argument('<spec>', 'sweep spec file (YAML or JSON)')
    .option('--json', 'print JSON')
    .option(
      '--worker <address>',
      'ask the worker at host:port (for shapes not known here, a worker is started otherwise)',
    )
    .option(
      '--spawn-worker',
      'count through a worker started for it even when the model is a known Llama shape (proto/model-shapes.json)',
    )
    .option('--device <device>', 'device of the worker started for counting (counting itself uses no weights)', 'cpu')
    .option('--timeout <seconds>', 'how long to wait for the --worker to answer', '10')
    .addHelpText(
      'after',
      '\nExamples:\n  $ bslora params jobs/quickstart.yaml\n  $ bslora params jobs/paper/llama2-7b-commonsense.yaml --json\n  $ bslora params jobs/quickstart.yaml --worker gpu-host:50051',
    )
    .action(async (specPath: string, opts: ParamsOptions) => {
      const { runParams } = await import('./count-params.js');
      await runParams(specPath, opts, io);
    });
}
