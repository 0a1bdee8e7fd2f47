/** `bslora serve`: the control plane alone (store, planner, recorder, API) for a many-host deployment. */
import { Command } from 'commander';
import { loadOrCreateToken } from '../api/auth-token.js';
import { defaultReadAuth } from '../api/read-auth.js';
import { ARTIFACTS_HELP } from '../artifact-store/artifacts-setting.js';
import { ControlPlaneError } from '../errors.js';
import type { CliConfig } from './config.js';
import type { CliIo } from './sweep-command.js';
import { untilSignal } from './until-signal.js';

export function makeServeCommand(config: CliConfig, io: CliIo): Command {
  return new Command('serve')
    .description(
      'run the control plane (API, planner, recorder) against a shared Redis; agents on GPU hosts do the work',
    )
    .option('--redis <url>', 'Redis URL, or redis-cluster://host1:port1,host2:port2 (default: BSLORA_REDIS_URL)')
    .option(
      '--read-auth',
      'require the API token for reads too (default: on when BSLORA_HOST is not loopback; BSLORA_READ_AUTH=0/1)',
    )
    .option('--no-read-auth', 'serve reads without a token')
    .option('--artifacts <url>', ARTIFACTS_HELP)
    .addHelpText(
      'after',
      '\nExample:\n  $ BSLORA_HOST=0.0.0.0 bslora serve --redis redis://queue.internal:6379\n  $ bslora agent --redis redis://queue.internal:6379   # on each GPU host',
    )
    .action(async (opts: { redis?: string; readAuth?: boolean; artifacts?: string }) => {
      // Loaded when the command runs, so that the rest of the CLI starts without the server's modules.
      const { pingRedis } = await import('../redis/ensure-redis.js');
      const { ControlPlane } = await import('../control-plane.js');
      const { buildApp } = await import('../api/app.js');
      const redisUrl = opts.redis ?? config.redisUrl;
      const { token, created } = loadOrCreateToken(config.homeDir);
      if (!(await pingRedis(redisUrl))) {
        throw new ControlPlaneError(
          'CP_ERR_REDIS_UNAVAILABLE',
          `no Redis answers at ${redisUrl}: start one, or use 'bslora up' to run everything locally`,
        );
      }
      const cp = await ControlPlane.start({
        redisUrl,
        prefix: config.prefix,
        homeDir: config.homeDir,
        artifacts: opts.artifacts ?? config.artifacts,
      });
      const readAuth = opts.readAuth ?? defaultReadAuth(config.host);
      const app = buildApp({ controlPlane: cp, token, readAuth });
      const address = await app.listen({ host: config.host, port: config.port });
      io.out.write(
        `control plane serving at ${address} (Redis ${redisUrl}; reads ${readAuth ? 'need the token' : 'are open'})\n`,
      );
      if (created) io.out.write(`API token (shown once; also in ${config.homeDir}/api-token): ${token}\n`);
      await untilSignal();
      await app.close();
      await cp.close();
    });
}
