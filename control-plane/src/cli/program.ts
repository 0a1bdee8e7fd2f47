/** The `bslora` program: every subcommand from its `make…Command()` factory (tests call `parseAsync` on this). */
import { Command } from 'commander';
import type { CliConfig } from './config.js';
import { makeAdapterCommand } from './adapter-command.js';
import { makeAgentCommand } from './agent-command.js';
import { makeDemoCommand } from './demo-command.js';
import { makeServeCommand } from './serve-command.js';
import { makeSweepCommand, type CliIo } from './sweep-command.js';
import { makeUpCommand } from './up-command.js';
import { makeParamsCommand } from './params-command.js';
import { makeWorkersCommand } from './workers-command.js';
import { makeCompareCommand } from './compare-command.js';

export function makeProgram(config: CliConfig, io: CliIo): Command {
  const program = new Command('bslora')
    .description('find, train and compare BSLoRA adapters')
    .version('0.1.0')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExamples:\n  $ bslora demo                                   # a real sweep, offline, on this machine\n' +
        '  $ bslora up                                     # run everything until Ctrl-C\n' +
        '  $ bslora sweep submit jobs/quickstart.yaml --wait\n\n' +
        'Exit codes: 0 success; 1 failed trials or failed expect rules; 2 usage or validation error; 3 Redis or API unreachable;\n' +
        '4 worker did not start or does not answer. Reference: docs/reference/cli.md',
    );
  program.configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) });
  program.addCommand(makeUpCommand(config, io));
  program.addCommand(makeServeCommand(config, io));
  program.addCommand(makeAgentCommand(config, io));
  program.addCommand(makeDemoCommand(config, io));
  program.addCommand(makeSweepCommand(config, io));
  program.addCommand(makeAdapterCommand(config, io));
  program.addCommand(makeCompareCommand(config, io));
  program.addCommand(makeParamsCommand(config, io));
  program.addCommand(makeWorkersCommand(config, io));
  // Commands made by their own factories do not inherit the program's settings: hand the output and the exit
  // override down to every level, so that a usage error anywhere reaches main.ts (exit 2) through the command's io.
  program.exitOverride();
  const handDown = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.configureOutput(program.configureOutput()).showHelpAfterError().exitOverride();
      handDown(sub);
    }
  };
  handDown(program);
  return program;
}
