/**
 * `bslora compare <sweep-id…>`: several sweeps combined into configuration-level results (GET /api/v1/comparisons).
 */
import { Command, Option } from 'commander';
import { loadOrCreateToken } from '../api/auth-token.js';
import type { Comparison } from '../stats/compare-sweeps.js';
import { ApiClient } from './api-client.js';
import type { CliConfig } from './config.js';
import type { CliIo } from './sweep-command.js';

export function makeCompareCommand(config: CliConfig, io: CliIo): Command {
  return new Command('compare')
    .description(
      'combine sweeps with the same base model, eval tasks and eval limit into one table of configurations over seeds',
    )
    .argument('<sweep-id...>', 'sweep ids')
    .option(
      '--reference <configuration>',
      'configuration that differences are taken against (default: the largest LoRA)',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--json', 'same as --format json')
    .addHelpText(
      'after',
      '\nExample:\n  $ bslora compare sw-20261129-1a2b3c4d sw-20261130-5e6f7a8b --reference lora-r8\n\n' +
        'Sweeps that differ in base model, eval tasks or eval limit are refused with the difference (exit 2).',
    )
    .action(async (ids: string[], opts: { reference?: string; format: string; json?: boolean }) => {
      // The statistics modules (and the generated contract under them) load only when a table is printed.
      const { configurationTable } = await import('./configuration-view.js');
      const client = new ApiClient(config.apiUrl, loadOrCreateToken(config.homeDir).token);
      const query = new URLSearchParams({ sweeps: ids.join(',') });
      if (opts.reference) query.set('reference', opts.reference);
      const c = await client.request<Comparison>('GET', `/api/v1/comparisons?${query}`);
      if (opts.json || opts.format === 'json') {
        io.out.write(`${JSON.stringify(c)}\n`);
        return;
      }
      const head =
        `${c.sweeps.length} sweeps (${c.sweeps.map((s) => s.id).join(', ')}), ${c.trials} trials; base model ${c.baseModel}, ` +
        `eval tasks ${c.evalTasks.join(', ')}, eval limit ${c.evalLimit ?? 'none'}`;
      io.out.write(`${head}\n\n${configurationTable(c.configurations)}\n`);
    });
}
