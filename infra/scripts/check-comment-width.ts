/**
 * Fails when a comment line in the TypeScript or the dashboard's JavaScript is wider than the formatter's line width
 * (biome.json). Biome wraps code but never comments, so this is the check that keeps comments within it; string
 * literals may run past it (docs/decisions/0007-typescript-format-and-lint.md says why).
 *
 *   npx tsx infra/scripts/check-comment-width.ts [files...]   (default: every file Biome checks)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync('biome.json', 'utf8')) as { formatter: { lineWidth: number } };
const WIDTH = config.formatter.lineWidth;

/** A line that is only a comment: `//`, `/*`, or a ` * ` continuation of a block comment. */
const COMMENT_LINE = /^\s*(\/\/|\/\*|\*)/;

/** The files Biome checks (biome.json `files.includes`), as git knows them. */
function defaultFiles(): string[] {
  const out = execFileSync(
    'git',
    [
      'ls-files',
      '--cached',
      '--others',
      '--exclude-standard',
      '--',
      'control-plane/src',
      'test',
      'bin',
      'infra',
      'vitest.config.ts',
    ],
    {
      encoding: 'utf8',
    },
  );
  return out
    .split('\n')
    .filter((f) => /\.(ts|js|mjs)$/.test(f))
    .filter((f) => !f.startsWith('control-plane/src/gen/') && !f.endsWith('.d.mts'));
}

const files = process.argv.length > 2 ? process.argv.slice(2) : defaultFiles();
const wide: string[] = [];
for (const file of files) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.length > WIDTH && COMMENT_LINE.test(line)) wide.push(`${file}:${i + 1}: ${line.length} columns`);
    });
}
if (wide.length) {
  process.stderr.write(
    `${wide.length} comment lines wider than ${WIDTH} columns (wrap them by hand):\n${wide.join('\n')}\n`,
  );
  process.exit(1);
}
process.stdout.write(`comments: ${files.length} files, none wider than ${WIDTH} columns\n`);
