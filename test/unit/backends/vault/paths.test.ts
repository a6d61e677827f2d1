import { describe, expect, it } from 'vitest';
import { kv1, kv2, stringFields } from '../../../../lib/backends/vault/paths.js';

describe('KV paths', () => {
  it('addresses KV v2 data and metadata under the mount', () => {
    expect(kv2.data('secret', 'team/app')).toBe('secret/data/team/app');
    expect(kv2.metadata('secret', '/team/app/')).toBe('secret/metadata/team/app');
    expect(kv2.list('secret', '')).toBe('secret/metadata/');
    expect(kv2.list('secret', 'team')).toBe('secret/metadata/team/');
  });

  it('addresses KV v1 directly under the mount', () => {
    expect(kv1.data('kv', 'app')).toBe('kv/app');
    expect(kv1.list('kv', 'a/b')).toBe('kv/a/b/');
  });

  it('encodes each segment so names with spaces, ? or # stay one path', () => {
    expect(kv2.data('secret', 'my app/v?1#x')).toBe('secret/data/my%20app/v%3F1%23x');
  });
});

describe('stringFields', () => {
  it('keeps strings and serialises other JSON values', () => {
    expect(stringFields({ a: 'x', port: 5432, tls: true, nested: { k: 1 } })).toEqual({
      a: 'x',
      port: '5432',
      tls: 'true',
      nested: '{"k":1}',
    });
  });
});
