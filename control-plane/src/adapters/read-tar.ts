/**
 * Reads the regular files out of a tar archive (ustar, with PAX extended headers for long names), as the worker
 * writes adapters (worker-py trials/archive.py: regular files only). Refuses anything that could write outside the
 * target: absolute names, `..`, links and devices; nothing is written here, the caller writes the returned files.
 */
import { ControlPlaneError } from '../errors.js';

export interface TarFile {
  /** Relative POSIX path inside the archive. */
  name: string;
  data: Buffer;
}

const BLOCK = 512;

function field(header: Buffer, offset: number, length: number): string {
  const raw = header.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function octal(header: Buffer, offset: number, length: number): number {
  const text = field(header, offset, length).trim();
  return text ? parseInt(text, 8) : 0;
}

/** PAX records: "<len> <key>=<value>\n" … */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(data.subarray(pos, space).toString('ascii'));
    if (!Number.isInteger(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

function bad(message: string): never {
  throw new ControlPlaneError('CP_ERR_ADAPTER_INVALID', `the adapter archive is not usable: ${message}`);
}

export function readTar(archive: Buffer): TarFile[] {
  const files: TarFile[] = [];
  let pos = 0;
  let paxPath: string | null = null;
  while (pos + BLOCK <= archive.length) {
    const header = archive.subarray(pos, pos + BLOCK);
    if (header.every((b) => b === 0)) break; // end of archive
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = field(header, 345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    const dataStart = pos + BLOCK;
    if (dataStart + size > archive.length) bad(`entry ${JSON.stringify(name)} runs past the end of the archive`);
    const data = archive.subarray(dataStart, dataStart + size);
    pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      paxPath = paxRecords(data).get('path') ?? null;
      continue;
    }
    paxPath = null;
    if (type === 'g' || type === '5') continue; // global PAX header, directory
    if (type !== '0') bad(`entry ${JSON.stringify(name)} is not a regular file (type ${JSON.stringify(type)})`);
    const parts = name.split('/');
    if (name.startsWith('/') || parts.includes('..') || parts.some((p) => p === ''))
      bad(`unsafe entry name ${JSON.stringify(name)}`);
    files.push({ name, data: Buffer.from(data) });
  }
  return files;
}
