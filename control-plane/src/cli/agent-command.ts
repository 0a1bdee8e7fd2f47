/** `bslora agent`: on a GPU host, spawn one worker per device (or drive named remote workers) and consume trials. */
import { Command } from 'commander';
import { ControlPlaneError } from '../errors.js';
import type { CliConfig } from './config.js';
import { DATA_MIRROR_HELP, applyDataMirror } from './data-mirror-option.js';
import type { CliIo } from './sweep-command.js';
import { untilSignal } from './until-signal.js';
import { join } from 'node:path';
import { serverDataRoots } from '../data-roots.js';

export function makeAgentCommand(config: CliConfig, io: CliIo): Command {
  return new Command('agent')
    .description('run workers on this host and consume trials from a shared Redis')
    .option('--redis <url>', 'Redis URL, or redis-cluster://host1:port1,host2:port2 (default: BSLORA_REDIS_URL)')
    .option(
      '--devices <list>',
      'comma-separated devices, one worker each (cpu, cuda:0, …), or auto (every CUDA device, else the CPU)',
      'auto',
    )
    .option('--worker <address...>', 'drive an already-running worker at host:port (repeatable)')
    .option('--no-spawn', 'spawn no local workers (only --worker addresses)')
    .option('--prefix <prefix>', 'queue prefix shared with the control plane (default: BSLORA_PREFIX or bslora)')
    .option(
      '--dry-run',
      'spawn dry-run workers that answer Train/Evaluate at once without a model (benchmarks, tests)',
    )
    .option('--data-mirror <dir>', DATA_MIRROR_HELP)
    .addHelpText('after', '\nExample:\n  $ bslora agent --redis redis://queue.internal:6379 --devices cuda:0,cuda:1')
    .action(
      async (opts: {
        redis?: string;
        devices: string;
        worker?: string[];
        spawn: boolean;
        prefix?: string;
        dryRun?: boolean;
        dataMirror?: string;
      }) => {
        applyDataMirror(opts.dataMirror);
        // Loaded when the command runs, so that the rest of the CLI starts without the agent's modules.
        const { checkEvictionPolicy, pingRedis } = await import('../redis/ensure-redis.js');
        const { queueContextFromUrl } = await import('../queue/queues.js');
        const { closeConnection } = await import('../redis/redis-connection.js');
        const { resolveDevices } = await import('../agent/discover-devices.js');
        const { Agent } = await import('../agent/agent.js');
        const redisUrl = opts.redis ?? config.redisUrl;
        if (!(await pingRedis(redisUrl))) {
          throw new ControlPlaneError('CP_ERR_REDIS_UNAVAILABLE', `no Redis answers at ${redisUrl}`);
        }
        await checkEvictionPolicy(redisUrl);
        // The same prefix rule as the control plane's: a hash tag on a Redis Cluster.
        const ctx = queueContextFromUrl(redisUrl, opts.prefix ?? config.prefix);
        const agent = await Agent.start({
          ctx,
          homeDir: join(config.homeDir, `agent-${process.pid}`),
          artifactsDir: join(config.homeDir, 'artifacts'),
          devices: opts.spawn ? await resolveDevices(opts.devices) : [],
          remoteWorkers: opts.worker ?? [],
          dryRun: opts.dryRun ?? false,
          allowedRoots: serverDataRoots(config.homeDir),
          log: (line) => io.err.write(`${line}\n`),
        });
        io.out.write(
          `agent ${process.pid} consuming from ${redisUrl}: ${agent.workers.map((w) => `${w.device}@${w.address}${w.pid ? ` (pid ${w.pid})` : ''}`).join(', ')}\n`,
        );
        await untilSignal();
        await agent.close();
        closeConnection(ctx.connection);
      },
    );
}
