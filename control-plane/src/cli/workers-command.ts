/** `bslora workers`: the workers whose agents report a live heartbeat to the control plane (`GET /api/v1/workers`). */
import { Command } from 'commander';
import type { WorkerHeartbeat } from '../agent/worker-heartbeat.js';
import { loadOrCreateToken } from '../api/auth-token.js';
import { ApiClient } from './api-client.js';
import type { CliConfig } from './config.js';
import { renderTable } from './render-table.js';
import type { CliIo } from './sweep-command.js';

const gib = (bytes: number) => (bytes ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : null);

export function workersTable(workers: WorkerHeartbeat[]): string {
  if (workers.length === 0) return 'no workers: start one with `bslora up` or `bslora agent --redis <url>`';
  return renderTable(
    ['worker', 'host', 'device', 'address', 'status', 'capacity', 'memory', 'resident models', 'torch', 'last seen'],
    workers.map((w) => [
      w.id,
      w.host,
      w.devices[0]?.kind ? `${w.device} (${w.devices[0].kind})` : w.device,
      w.address,
      w.status,
      w.capacity,
      gib(w.devices[0]?.totalMemoryBytes ?? 0),
      w.residentModels.join(', ') || null,
      w.versions.torch ?? null,
      w.lastSeen,
    ]),
  );
}

export function makeWorkersCommand(config: CliConfig, io: CliIo): Command {
  return new Command('workers')
    .description(
      'list the workers that agents report to the control plane (device, memory, versions, resident models)',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ bslora workers\n  $ bslora workers --json | jq \'.[] | select(.status == "serving") | .address\'',
    )
    .action(async (opts: { json?: boolean }) => {
      const api = new ApiClient(config.apiUrl, loadOrCreateToken(config.homeDir).token);
      const { workers } = await api.request<{ workers: WorkerHeartbeat[] }>('GET', '/api/v1/workers');
      io.out.write(opts.json ? `${JSON.stringify(workers)}\n` : `${workersTable(workers)}\n`);
    });
}
