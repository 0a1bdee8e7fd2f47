/** `bslora adapter get`: a trained adapter from a running control plane, as a directory PEFT loads, with a card. */
import { Command, Option } from 'commander';
import type { CliConfig } from './config.js';
import type { CliIo } from './sweep-command.js';

export interface AdapterGetOptions {
  best?: boolean;
  among?: string;
  maxParamShare?: string;
  paramReference?: string;
  metric?: 'mean_acc' | 'mean_acc_norm';
  json?: boolean;
}

export function makeAdapterCommand(config: CliConfig, io: CliIo): Command {
  const adapter = new Command('adapter')
    .description('take trained adapters away from a running control plane')
    .addHelpText(
      'after',
      '\nExamples:\n  $ bslora adapter get sw-20261129-1a2b3c4d lora-r8-s0 ./lora-r8\n  $ bslora adapter get sw-20261129-1a2b3c4d --best --max-param-share 0.5 ./winner',
    )
    .action(() => adapter.help({ error: true }));

  const get = adapter
    .command('get')
    .description(
      "write a trial's adapter into a directory PeftModel.from_pretrained loads, with a model card (README.md) and bslora-trial.json",
    )
    .argument('<sweep>', 'sweep id')
    .argument('[trial]', 'trial name (lora-r8-s0) or key; with --best, the directory instead')
    .argument('[dir]', 'directory to write (new or empty); default ./<trial name>')
    .option(
      '--best',
      'the best trial, chosen as an expect rule chooses (--among, --max-param-share, --param-reference, --metric)',
    )
    .option('--among <selector>', 'with --best: the configurations that compete (base excluded)', 'bslora')
    .option(
      '--max-param-share <fraction>',
      "with --best: only configurations with at most this share of the reference's trainable parameters",
    )
    .option('--param-reference <selector>', 'with --best: the configuration the share refers to', 'lora')
    .addOption(
      new Option('--metric <metric>', 'with --best: what "best" means')
        .choices(['mean_acc', 'mean_acc_norm'])
        .default('mean_acc'),
    )
    .option('--json', 'print what was written as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ bslora adapter get sw-20261129-1a2b3c4d lora-r8-s0 ./lora-r8\n' +
        '  $ bslora adapter get sw-20261129-1a2b3c4d --best --max-param-share 0.5 ./winner\n\n' +
        'Then, in Python: import bslora; from peft import PeftModel; PeftModel.from_pretrained(base_model, "./winner")',
    )
    .action(
      async (sweepId: string, trialArg: string | undefined, dirArg: string | undefined, opts: AdapterGetOptions) => {
        if (opts.best && dirArg !== undefined)
          get.error(
            `error: with --best, give the sweep and at most a directory (got ${JSON.stringify(trialArg)} and ${JSON.stringify(dirArg)})`,
            { exitCode: 2 },
          );
        if (!opts.best && trialArg === undefined)
          get.error('error: name a trial (its name or key), or pass --best', { exitCode: 2 });
        const share = opts.maxParamShare === undefined ? undefined : Number(opts.maxParamShare);
        if (share !== undefined && !(share > 0))
          get.error(
            `error: --max-param-share ${JSON.stringify(opts.maxParamShare)} is not a number above 0 (0.5: at most half)`,
            { exitCode: 2 },
          );
        const { getAdapter } = await import('./get-adapter.js');
        await getAdapter(config, io, {
          sweepId,
          trial: opts.best ? null : trialArg!,
          dir: opts.best ? trialArg : dirArg,
          best: { among: opts.among, maxParamShare: share, paramReference: opts.paramReference, metric: opts.metric },
          json: opts.json ?? false,
        });
      },
    );
  return adapter;
}
