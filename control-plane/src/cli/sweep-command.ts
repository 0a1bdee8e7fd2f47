/** `bslora sweep submit|status|list|results|cancel`: talks to a running control plane over REST. */
import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SWEEP_STATUSES } from '../store/statuses.js';
import { ApiClient } from './api-client.js';
import type { CliConfig } from './config.js';
import { renderTable } from './render-table.js';
import { resultTable, type SweepDetail } from './sweep-view.js';
import { waitForSweep } from './wait-for-sweep.js';
import { loadOrCreateToken } from '../api/auth-token.js';
import { expectLines, sweepOutcomeError, type ExpectSummary } from './expect-view.js';
import type { ConfigurationResults } from '../stats/configuration-results.js';

export interface CliIo {
  out: { write(s: string): void; isTTY?: boolean };
  err: { write(s: string): void };
}

export function makeSweepCommand(config: CliConfig, io: CliIo): Command {
  const api = () => new ApiClient(config.apiUrl, loadOrCreateToken(config.homeDir).token);
  const sweep = new Command('sweep')
    .description('submit and follow sweeps on a running control plane (see `bslora up`)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ bslora sweep submit jobs/quickstart.yaml --wait\n  $ bslora sweep list --status running',
    )
    .action(() => sweep.help({ error: true }));

  sweep
    .command('submit')
    .description('validate a sweep spec and queue its trials')
    .argument('<spec>', 'sweep spec file (YAML or JSON)')
    .option(
      '--wait',
      'follow progress until the sweep ends, print the result table and the expect verdicts; exit 1 when trials or expect rules failed',
    )
    .option('--json', 'print JSON instead of text')
    .option(
      '--idempotency-key <key>',
      'send this Idempotency-Key: a retry with the same key and spec returns the same sweep',
    )
    .option(
      '--root <dir...>',
      "also accept local paths under DIR (default: only the spec's folder; the server checks its own roots too)",
    )
    .addHelpText(
      'after',
      '\nExample:\n  $ bslora sweep submit jobs/quickstart.yaml --wait\n  $ bslora sweep submit jobs/quickstart.yaml --idempotency-key "ci-$GITHUB_RUN_ID" --wait --json',
    )
    .action(
      async (specPath: string, opts: { wait?: boolean; json?: boolean; idempotencyKey?: string; root?: string[] }) => {
        const path = resolve(specPath);
        // The spec modules (zod, yaml) are loaded only by the command that reads a spec.
        const { loadSweepSpecFile } = await import('../sweep-specs/index.js');
        const { usesRelativeLocalPaths } = await import('../sweep-specs/parse-sweep-spec.js');
        // Validate locally first: every problem is named before anything reaches the queue. Local paths must lie
        // under the spec's folder (or a --root).
        await loadSweepSpecFile(path, { roots: [dirname(path), ...(opts.root ?? []).map((r) => resolve(r))] });
        const text = await readFile(path, 'utf8');
        const format = specPath.endsWith('.json') ? 'json' : 'yaml';
        // The folder goes along only when the spec needs it; the server accepts it only under its own data roots.
        const base = usesRelativeLocalPaths(text, format) ? `?base=${encodeURIComponent(dirname(path))}` : '';
        const client = api();
        const submitted = await client.request<{ id: string; trials: number; reused: number }>(
          'POST',
          `/api/v1/sweeps${base}`,
          { text, contentType: format === 'json' ? 'application/json' : 'application/yaml' },
          opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : undefined,
        );
        if (!opts.wait) {
          io.out.write(
            opts.json
              ? `${JSON.stringify(submitted)}\n`
              : `submitted sweep ${submitted.id}: ${submitted.trials} trials (${submitted.reused} reused)\n`,
          );
          return;
        }
        // With --json, stdout carries the finished sweep alone; the submission line goes to stderr.
        (opts.json ? io.err : io.out).write(
          `submitted sweep ${submitted.id}: ${submitted.trials} trials (${submitted.reused} reused)\n`,
        );
        const done = await waitForSweep(client, submitted.id, io.out, { quiet: opts.json });
        const verdicts = expectLines(summaryOf(done));
        io.out.write(
          opts.json ? `${JSON.stringify(done)}\n` : `\n${resultTable(done)}\n${verdicts ? `\n${verdicts}\n` : ''}`,
        );
        const failure = sweepOutcomeError(done);
        if (failure) throw failure;
      },
    );

  sweep
    .command('status')
    .description("show a sweep's trials and their progress")
    .argument('<id>', 'sweep id')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ bslora sweep status sw-20261129-1a2b3c4d --json')
    .action(async (id: string, opts: { json?: boolean }) => {
      const s = await api().request<SweepDetail>('GET', `/api/v1/sweeps/${encodeURIComponent(id)}`);
      const verdicts = expectLines(summaryOf(s));
      io.out.write(
        opts.json
          ? `${JSON.stringify(s)}\n`
          : `${s.id} (${s.name}): ${s.status}\n\n${resultTable(s)}\n${verdicts ? `\n${verdicts}\n` : ''}`,
      );
    });

  sweep
    .command('list')
    .description('list recent sweeps')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'how many', '20')
    .addOption(new Option('--status <status>', 'only sweeps with this status').choices(SWEEP_STATUSES))
    .addHelpText('after', '\nExample:\n  $ bslora sweep list --limit 5\n  $ bslora sweep list --status running --json')
    .action(async (opts: { json?: boolean; limit: string; status?: string }) => {
      const query = new URLSearchParams({
        limit: String(Number(opts.limit)),
        ...(opts.status ? { status: opts.status } : {}),
      });
      const r = await api().request<{ sweeps: { id: string; name: string; status: string; createdAt: string }[] }>(
        'GET',
        `/api/v1/sweeps?${query}`,
      );
      io.out.write(
        opts.json
          ? `${JSON.stringify(r.sweeps)}\n`
          : `${renderTable(
              ['id', 'name', 'status', 'created'],
              r.sweeps.map((s) => [s.id, s.name, s.status, s.createdAt]),
            )}\n`,
      );
    });

  sweep
    .command('results')
    .description("print a sweep's results")
    .argument('<id>', 'sweep id')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .option('--json', 'same as --format json')
    .option('--full', "with json: each trial's whole plan and recorded result too (train report, metrics)")
    .addHelpText('after', '\nExample:\n  $ bslora sweep results sw-20261129-1a2b3c4d --format csv > results.csv')
    .action(async (id: string, opts: { format: string; json?: boolean; full?: boolean }) => {
      // The statistics modules (and the generated contract under them) load only when a table is printed.
      const { configurationTable } = await import('./configuration-view.js');
      const format = opts.json ? 'json' : opts.format;
      const client = api();
      if (format === 'csv') {
        io.out.write(
          await client.request<string>('GET', `/api/v1/sweeps/${encodeURIComponent(id)}/results?format=csv`),
        );
      } else if (format === 'json') {
        const include = opts.full ? '?include=plan,result' : '';
        io.out.write(
          `${JSON.stringify(await client.request('GET', `/api/v1/sweeps/${encodeURIComponent(id)}/results${include}`))}\n`,
        );
      } else {
        const s = await client.request<SweepDetail>('GET', `/api/v1/sweeps/${encodeURIComponent(id)}`);
        const r = await client.request<{ configurations: ConfigurationResults }>(
          'GET',
          `/api/v1/sweeps/${encodeURIComponent(id)}/results`,
        );
        const verdicts = expectLines(summaryOf(s));
        io.out.write(
          `${resultTable(s)}\n\n${configurationTable(r.configurations)}\n${verdicts ? `\n${verdicts}\n` : ''}`,
        );
      }
    });

  sweep
    .command('cancel')
    .description('cancel a sweep: waiting trials are removed, running ones stopped')
    .argument('<id>', 'sweep id')
    .addHelpText('after', '\nExample:\n  $ bslora sweep cancel sw-20261129-1a2b3c4d')
    .action(async (id: string) => {
      const r = await api().request<{ status: string }>('POST', `/api/v1/sweeps/${encodeURIComponent(id)}/cancel`);
      io.out.write(`sweep ${id}: ${r.status}\n`);
    });

  return sweep;
}

/** The expect verdicts in a sweep's summary (set when it ended). */
function summaryOf(s: SweepDetail): ExpectSummary | null {
  return ((s as SweepDetail & { summary?: unknown }).summary ?? null) as ExpectSummary | null;
}
