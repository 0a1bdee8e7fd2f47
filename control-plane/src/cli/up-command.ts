/** `bslora up`: Redis (if none answers), control plane, one agent with a worker per device, and the API. */
import { Command } from 'commander';
import type { CliConfig } from './config.js';
import { DATA_MIRROR_HELP, applyDataMirror } from './data-mirror-option.js';
import type { CliIo } from './sweep-command.js';
import { untilSignal } from './until-signal.js';

export function makeUpCommand(config: CliConfig, io: CliIo): Command {
  return new Command('up')
    .description('run everything on this machine until Ctrl-C: Redis if needed, the control plane, workers, the API')
    .option(
      '--devices <list>',
      'comma-separated devices to start a worker for, or auto (every CUDA device, else the CPU)',
      'auto',
    )
    .option('--data-mirror <dir>', DATA_MIRROR_HELP)
    .option(
      '--read-auth',
      'require the API token for reads too (default: on when BSLORA_HOST is not loopback; BSLORA_READ_AUTH=0/1)',
    )
    .option('--no-read-auth', 'serve reads without a token')
    .addHelpText('after', '\nExample:\n  $ bslora up &\n  $ bslora sweep submit jobs/quickstart.yaml --wait')
    .action(async (opts: { devices: string; readAuth?: boolean; dataMirror?: string }) => {
      applyDataMirror(opts.dataMirror);
      // Loaded when the command runs, so that the rest of the CLI starts without the stack's modules.
      const { resolveDevices } = await import('../agent/discover-devices.js');
      const { startLocalStack } = await import('../local-stack.js');
      const stack = await startLocalStack({
        homeDir: config.homeDir,
        redisUrl: config.redisUrl,
        prefix: config.prefix,
        host: config.host,
        port: config.port,
        devices: await resolveDevices(opts.devices),
        readAuth: opts.readAuth,
        log: (line) => io.err.write(`${line}\n`),
      });
      io.out.write(
        `bslora is up: API ${stack.apiUrl}, workers ${stack.agent.workers.map((w) => `${w.device}@${w.address} (pid ${w.pid})`).join(', ')}\n`,
      );
      if (stack.tokenCreated)
        io.out.write(`API token (shown once; also in ${config.homeDir}/api-token): ${stack.token}\n`);
      await untilSignal();
      io.err.write('stopping…\n');
      await stack.stop();
    });
}
