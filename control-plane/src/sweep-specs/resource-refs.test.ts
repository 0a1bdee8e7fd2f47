import { homedir } from 'node:os';

import { describe, expect, it } from 'vitest';

import { checkRefSyntax, classifyRef, normalizeRef, resolveLocalRef, splitRefFragment } from './resource-refs.js';

describe('classifyRef', () => {
  it.each([
    ['builtin:tiny-llama', 'builtin'],
    ['builtin:arith/test', 'builtin'],
    ['meta-llama/Llama-2-7b-hf', 'hub'],
    ['meta-llama/Llama-2-7b-hf@main', 'hub'],
    ['hub:org/data.json', 'hub'],
    ['gpt2', 'hub'],
    ['./models/m', 'local'],
    ['../shared/data/x.json', 'local'],
    ['/abs/model', 'local'],
    ['~/models/m', 'local'],
    ['file:models/m', 'local'],
    ['data/train.jsonl', 'local'],
    ['data/sets/train', 'local'],
    ['model.gguf', 'local'],
    ['./test.json#mc', 'local'],
    ['test.json#llm-adapters', 'local'],
    ['llm-adapters:ARC-Easy', 'hub'],
    ['llm-adapters:boolq#llm-adapters', 'hub'],
  ])('%s is %s', (ref, kind) => {
    expect(classifyRef(ref)).toBe(kind);
  });
});

describe('checkRefSyntax', () => {
  it('accepts well-formed references', () => {
    for (const ref of ['builtin:smollm2-135m', 'org/name', 'org/name@v1.0', './x', 'hub:org/name'])
      expect(checkRefSyntax(ref)).toBeNull();
  });

  it('refuses malformed ones with a message saying how to write them', () => {
    expect(checkRefSyntax('builtin:')).toMatch(/builtin:<name>/);
    expect(checkRefSyntax('my model')).toMatch(/start it with \.\/ or \//);
    expect(checkRefSyntax(' ./x')).toMatch(/whitespace/);
  });

  it('knows the LLM-Adapters sets by name and lists them for an unknown one', () => {
    for (const ref of ['llm-adapters:ARC-Challenge', 'llm-adapters:social_i_qa', 'llm-adapters:piqa#llm-adapters']) {
      expect(checkRefSyntax(ref)).toBeNull();
      expect(normalizeRef(ref, '/base')).toBe(ref);
    }
    expect(checkRefSyntax('llm-adapters:arc-easy')).toMatch(
      /no LLM-Adapters set; .*boolq, piqa, social_i_qa, hellaswag/,
    );
  });
});

describe('normalizeRef', () => {
  it('makes local paths absolute, keeping a #style', () => {
    expect(normalizeRef('./a/b.json#mc', '/base')).toBe('/base/a/b.json#mc');
    expect(normalizeRef('file:/x/y', '/base')).toBe('/x/y');
    expect(resolveLocalRef('~/m', '/base')).toBe(`${homedir()}/m`);
  });

  it('drops hub: unless the bare id would read as local', () => {
    expect(normalizeRef('hub:org/name', '/b')).toBe('org/name');
    expect(normalizeRef('hub:org/data.json', '/b')).toBe('hub:org/data.json');
  });

  it('is idempotent', () => {
    for (const ref of ['./a.json#mc', 'hub:org/n', 'builtin:arith', '../x/y/z']) {
      const once = normalizeRef(ref, '/base/dir');
      expect(normalizeRef(once, '/elsewhere')).toBe(once);
    }
  });

  it('splits a style fragment only when it is one', () => {
    expect(splitRefFragment('a.json#mc')).toEqual({ base: 'a.json', fragment: 'mc' });
    expect(splitRefFragment('a.json')).toEqual({ base: 'a.json', fragment: null });
  });
});
