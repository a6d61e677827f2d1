import { describe, expect, it } from 'vitest';
import { contentTypeOf, fieldsOf, nextValue } from '../../../lib/rotation/value.js';

describe('nextValue', () => {
  it('keeps a plain Key Vault string plain when only the primary field changes', () => {
    expect(nextValue('old-password', { value: 'new' }, 'value')).toBe('new');
  });

  it('merges into a JSON Key Vault value, keeping the other keys', () => {
    const next = nextValue(
      '{"host":"db","username":"a","password":"x"}',
      { username: 'b', password: 'y' },
      'password',
    );

    expect(JSON.parse(next as string)).toEqual({ host: 'db', username: 'b', password: 'y' });
  });

  it('turns a plain string into JSON when several fields are written', () => {
    expect(JSON.parse(nextValue('old', { username: 'b', password: 'y' }, 'password') as string)).toEqual({
      username: 'b',
      password: 'y',
    });
  });

  it('merges into KV v2 fields, keeping the other fields', () => {
    expect(nextValue({ host: 'db', password: 'x' }, { password: 'y' }, 'password')).toEqual({
      host: 'db',
      password: 'y',
    });
  });
});

describe('fieldsOf', () => {
  it('reads a JSON object stored as a string, and nothing from a plain string', () => {
    expect(fieldsOf('{"username":"a","port":5432}')).toEqual({ username: 'a', port: '5432' });
    expect(fieldsOf('not json')).toBeUndefined();
    expect(fieldsOf('[1,2]')).toBeUndefined();
  });
});

describe('contentTypeOf', () => {
  it('labels JSON values application/json and others text/plain', () => {
    expect(contentTypeOf('{"a":"b"}')).toBe('application/json');
    expect(contentTypeOf('secret')).toBe('text/plain');
  });
});
