import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isControlPlaneError } from '../errors.js';
import { closeConnection, connectionFromUrl, hasHashTag, keyPrefixFor, parseRedisUrl } from './redis-connection.js';

describe('parseRedisUrl', () => {
  it('reads one Redis with credentials and a database', () => {
    expect(parseRedisUrl('redis://u:p%40ss@10.0.0.5:6380/2')).toMatchObject({
      kind: 'single',
      options: { host: '10.0.0.5', port: 6380, username: 'u', password: 'p@ss', db: 2 },
    });
    expect(parseRedisUrl('redis://127.0.0.1')).toMatchObject({ options: { port: 6379, db: 0 } });
  });

  it('reads a cluster node list, IPv6 included, with credentials for every node', () => {
    expect(parseRedisUrl('redis-cluster://:secret@h1:7000,h2:7001,[::1]:7002')).toMatchObject({
      kind: 'cluster',
      nodes: [
        { host: 'h1', port: 7000 },
        { host: 'h2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      options: { password: 'secret' },
    });
  });

  it.each([
    ['redis-cluster://', 'names no node'],
    ['redis-cluster://h1:7000,h2', "'h2' is not host:port"],
    ['redis-cluster://h1:99999', "'h1:99999' is not host:port"],
    ['http://h1:6379', "the scheme 'http:' is not redis:"],
    ['127.0.0.1:6379', 'it is not a URL'],
    ['redis://h1:6379/x', "'x' is not a database number"],
  ])('refuses %s, naming the value and both accepted forms', (url, why) => {
    let err: unknown;
    try {
      parseRedisUrl(url);
    } catch (e) {
      err = e;
    }
    expect(isControlPlaneError(err) && err.code).toBe('CP_ERR_REDIS_URL_INVALID');
    expect((err as Error).message).toContain(`'${url}'`);
    expect((err as Error).message).toContain(why);
    expect((err as Error).message).toContain('redis-cluster://host1:port1,host2:port2');
  });
});

describe('keyPrefixFor', () => {
  it('wraps the prefix in a hash tag on a cluster only, and keeps a tag already written', () => {
    expect(keyPrefixFor('redis://127.0.0.1:6379', 'bslora')).toBe('bslora');
    expect(keyPrefixFor('redis-cluster://h:7000', 'bslora')).toBe('{bslora}');
    expect(keyPrefixFor('redis-cluster://h:7000', 'team-{a}')).toBe('team-{a}');
    // `{}` is no tag for Redis (it hashes the whole key), so it is wrapped.
    expect(keyPrefixFor('redis-cluster://h:7000', 'x{}')).toBe('{x{}}');
    expect(hasHashTag('{x{}}')).toBe(true);
  });
});

describe('connectionFromUrl', () => {
  it('gives BullMQ plain options for one Redis and one lazily connecting Cluster for a cluster', () => {
    expect(connectionFromUrl('redis://127.0.0.1:6390')).toMatchObject({ port: 6390, maxRetriesPerRequest: null });
    const c = connectionFromUrl('redis-cluster://127.0.0.1:1,127.0.0.1:2');
    expect(c).toBeInstanceOf(Cluster);
    expect((c as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
    closeConnection(c);
  });
});
