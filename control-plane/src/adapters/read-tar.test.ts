import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTar } from './read-tar.js';

const dir = mkdtempSync(join(tmpdir(), 'bslora-read-tar-'));
const tar = (args: string[]) => execFileSync('tar', args, { cwd: dir });

describe('readTar', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads regular files, long PAX names and nested folders of a PAX archive, skipping directories', () => {
    const long = `${'n'.repeat(120)}.bin`;
    mkdirSync(join(dir, 'src/sub'), { recursive: true });
    writeFileSync(join(dir, 'src/adapter_config.json'), '{"peft_type": "LORA"}');
    writeFileSync(join(dir, 'src/sub', long), Buffer.alloc(1500, 7));
    writeFileSync(join(dir, 'src/empty'), '');
    tar(['--format=pax', '-cf', 'a.tar', '-C', 'src', '.']);
    const files = readTar(readFileSync(join(dir, 'a.tar')));
    const byName = Object.fromEntries(files.map((f) => [f.name.replace(/^\.\//, ''), f.data]));
    expect(Object.keys(byName).sort()).toEqual(['adapter_config.json', 'empty', `sub/${long}`]);
    expect(byName['adapter_config.json'].toString()).toBe('{"peft_type": "LORA"}');
    expect(byName[`sub/${long}`].equals(Buffer.alloc(1500, 7))).toBe(true);
    expect(byName.empty.length).toBe(0);
  });

  it('refuses links and names that leave the directory, naming the entry', () => {
    mkdirSync(join(dir, 'links'), { recursive: true });
    symlinkSync('/etc/passwd', join(dir, 'links/pw'));
    tar(['-cf', 'link.tar', '-C', 'links', 'pw']);
    expect(() => readTar(readFileSync(join(dir, 'link.tar')))).toThrow(/"pw" is not a regular file/);

    writeFileSync(join(dir, 'evil'), 'x');
    tar(['-cf', 'dots.tar', '--transform', 's,^,../,', 'evil']);
    expect(() => readTar(readFileSync(join(dir, 'dots.tar')))).toThrow(/unsafe entry name "\.\.\/evil"/);
    tar(['-cPf', 'abs.tar', join(dir, 'evil')]);
    expect(() => readTar(readFileSync(join(dir, 'abs.tar')))).toThrow(/unsafe entry name "\//);
  });

  it('refuses an archive cut short', () => {
    writeFileSync(join(dir, 'big'), Buffer.alloc(1500, 1));
    tar(['--format=ustar', '-cf', 'big.tar', 'big']);
    const whole = readFileSync(join(dir, 'big.tar'));
    expect(readTar(whole)).toHaveLength(1);
    expect(() => readTar(whole.subarray(0, 512 + 100))).toThrow(/"big" runs past the end/);
  });
});
