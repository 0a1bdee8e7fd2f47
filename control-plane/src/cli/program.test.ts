import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../../../test/helpers/capture-io.js';
import { makeProgram } from './program.js';

const CLI_DOC = readFileSync(new URL('../../../docs/reference/cli.md', import.meta.url), 'utf8');
const config = {
  homeDir: '/tmp/bslora-none',
  redisUrl: 'redis://127.0.0.1:1',
  prefix: 'x',
  apiUrl: 'http://127.0.0.1:1',
  host: '127.0.0.1',
  port: 0,
};

function allCommands(cmd: Command, path: string[] = []): { path: string; cmd: Command }[] {
  return cmd.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [{ path: [...path, c.name()].join(' '), cmd: c }, ...allCommands(c, [...path, c.name()])]);
}

async function helpOf(args: string[]): Promise<string> {
  const cap = captureIo();
  const err = await makeProgram(config, cap.io)
    .parseAsync([...args, '--help'], { from: 'user' })
    .catch((e) => e);
  expect(err.code).toBe('commander.helpDisplayed');
  return cap.stdout();
}

describe('bslora program', () => {
  const commands = allCommands(makeProgram(config, captureIo().io));

  it('has every command the CLI promises (docs/reference/cli.md)', () => {
    expect(commands.map((c) => c.path)).toEqual(
      expect.arrayContaining([
        'up',
        'serve',
        'agent',
        'demo',
        'sweep submit',
        'sweep status',
        'sweep list',
        'sweep cancel',
        'sweep results',
        'params',
        'workers',
      ]),
    );
  });

  it('shows an example in the --help of every command', async () => {
    for (const { path } of commands) expect(await helpOf(path.split(' ')), path).toMatch(/Examples?:\n {2}\$ \S/);
    expect(await helpOf([])).toContain('Exit codes: 0 success; 1 failed trials or failed expect rules; 2 usage');
  });

  it('documents every command and the exit codes in docs/reference/cli.md', () => {
    for (const { path, cmd } of commands) {
      if (cmd.commands.length > 0) continue; // groups are documented through their commands
      expect(CLI_DOC, path).toContain(`### bslora ${path}\n`);
    }
    for (const code of [0, 1, 2, 3, 4]) expect(CLI_DOC).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });

  it('offers --json on every read command', () => {
    const reads = ['sweep status', 'sweep list', 'sweep results', 'params', 'workers', 'demo', 'sweep submit'];
    for (const path of reads) {
      const cmd = commands.find((c) => c.path === path)!.cmd;
      expect(
        cmd.options.map((o) => o.long),
        path,
      ).toContain('--json');
    }
  });

  it('turns usage errors anywhere into a thrown CommanderError written to the command io (main.ts exits 2)', async () => {
    const cap = captureIo();
    const err = await makeProgram(config, cap.io)
      .parseAsync(['sweep', 'list', '--status', 'bogus'], { from: 'user' })
      .catch((e) => e);
    expect(err.code).toBe('commander.invalidArgument');
    expect(cap.stderr()).toContain("argument 'bogus' is invalid");
  });
});
