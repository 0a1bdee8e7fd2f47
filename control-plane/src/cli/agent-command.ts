/** `bslora agent`: on a GPU host, spawn one worker per device (or drive named remote workers) and consume trials. */
import { Command } from 'commander';
import { ControlPlaneError } from '../errors.js';
import type { CliConfig } from './config.js';
import { DATA_MIRROR_HELP, applyDataMirror } from './data-mirror-option.js';
import type { CliIo } from './sweep-command.js';
import { untilSignal } from './until-signal.js';
import { join } from 'node:path';
import { serverDataRoots } from '../data-roots.js';
import { ARTIFACTS_HELP } from '../artifact-store/artifacts-setting.js';

/** `--exit-when-idle` in seconds: a whole number, 0 or more. */
export function parseIdleSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw new ControlPlaneError(
      'CP_ERR_AGENT_OPTION',
      `--exit-when-idle ${JSON.stringify(value)} is not a whole number of seconds: give one such as 300`,
    );
  }
  return n;
}

export function makeAgentCommand(config: CliConfig, io: CliIo): Command {
  return new Command('agent')
    .description('run workers on this host and consume trials from a shared Redis')
    .option('--redis <url>', 'Redis URL, or redis-cluster://host1:port1,host2:port2 (default: BSLORA_REDIS_URL)')
    .option(
      '--devices <list>',
      'comma-separated devices, one worker each (cpu, cuda:0, …), or auto (every CUDA device, else the CPU)',
      'auto',
    )
    .addHelpText(
      'after',
      '\nDevices on auto: CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES, SLURM_STEP_GPUS, SLURM_JOB_GPUS or\n' +
        "SLURM_GPUS_ON_NODE when set (a scheduler's assignment), else every CUDA device torch sees, else the CPU.",
    )
    .option('--worker <address...>', 'drive an already-running worker at host:port (repeatable)')
    .option('--no-spawn', 'spawn no local workers (only --worker addresses)')
    .option('--prefix <prefix>', 'queue prefix shared with the control plane (default: BSLORA_PREFIX or bslora)')
    .option(
      '--dry-run',
      'spawn dry-run workers that answer Train/Evaluate at once without a model (benchmarks, tests)',
    )
    .option('--data-mirror <dir>', DATA_MIRROR_HELP)
    .option('--artifacts <url>', ARTIFACTS_HELP)
    .option(
      '--exit-when-idle <seconds>',
      'exit (code 0) once no train or eval job has been waiting or running for this long: for Slurm and Kubernetes jobs',
      parseIdleSeconds,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ bslora agent --redis redis://queue.internal:6379 --devices cuda:0,cuda:1\n' +
        '  $ bslora agent --artifacts s3://my-bucket/bslora --exit-when-idle 300   # one Slurm array task',
    )
    .action(
      async (opts: {
        redis?: string;
        devices: string;
        worker?: string[];
        spawn: boolean;
        prefix?: string;
        dryRun?: boolean;
        dataMirror?: string;
        artifacts?: string;
        exitWhenIdle?: number;
      }) => {
        applyDataMirror(opts.dataMirror);
        // Loaded when the command runs, so that the rest of the CLI starts without the agent's modules.
        const { checkEvictionPolicy, pingRedis } = await import('../redis/ensure-redis.js');
        const { queueContextFromUrl } = await import('../queue/queues.js');
        const { closeConnection } = await import('../redis/redis-connection.js');
        const { findDevices } = await import('../agent/discover-devices.js');
        const { watchForIdle } = await import('../agent/idle-watch.js');
        const { Agent } = await import('../agent/agent.js');
        const redisUrl = opts.redis ?? config.redisUrl;
        if (!(await pingRedis(redisUrl))) {
          throw new ControlPlaneError('CP_ERR_REDIS_UNAVAILABLE', `no Redis answers at ${redisUrl}`);
        }
        await checkEvictionPolicy(redisUrl);
        const found = opts.spawn ? await findDevices(opts.devices) : { devices: [], source: '--no-spawn' };
        // The same prefix rule as the control plane's: a hash tag on a Redis Cluster.
        const ctx = queueContextFromUrl(redisUrl, opts.prefix ?? config.prefix);
        const agent = await Agent.start({
          ctx,
          homeDir: join(config.homeDir, `agent-${process.pid}`),
          artifactsDir: join(config.homeDir, 'artifacts'),
          devices: found.devices,
          artifacts: opts.artifacts ?? config.artifacts,
          remoteWorkers: opts.worker ?? [],
          dryRun: opts.dryRun ?? false,
          allowedRoots: serverDataRoots(config.homeDir),
          log: (line) => io.err.write(`${line}\n`),
        });
        io.out.write(
          `agent ${process.pid} consuming from ${redisUrl}: ${agent.workers.map((w) => `${w.device}@${w.address}${w.pid ? ` (pid ${w.pid})` : ''}`).join(', ')}\n`,
        );
        io.err.write(`devices from ${found.source}: ${found.devices.join(', ') || 'none'}\n`);
        if (opts.exitWhenIdle === undefined) {
          await untilSignal();
          await agent.close();
          return;
        }
        const watch = watchForIdle(ctx, opts.exitWhenIdle, {
          onError: (e) => io.err.write(`idle watch: ${e.message}\n`),
        });
        const ended = await Promise.race([untilSignal(), watch.idle.then(() => 'idle' as const)]);
        await watch.stop();
        if (ended === 'idle') io.out.write(`agent ${process.pid}: no work for ${opts.exitWhenIdle} s; exiting\n`);
        // Closing hands a running trial back to the queue (none is running when idle) and stops the workers.
        await agent.close();
        closeConnection(ctx.connection);
        if (ended === 'idle') io.out.write(`agent ${process.pid}: workers stopped\n`);
      },
    );
}
