import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../lib/change-event.js';
import type { Decoded } from '../../../lib/events/decoded.js';
import { safeDecodeVaultAudit, safeParseVaultAuditBody } from '../../../lib/events/vault-audit.js';
import { BAO_ADDRESS, fixtureText, testConfig } from './support.js';

const receivedAt = new Date('2026-11-23T07:00:00Z');

function decodeWith(text: string, server?: string, config = testConfig()): Decoded[] {
  const result = safeDecodeVaultAudit(text, { vaults: config.vaults, server, receivedAt });
  if (!result.success) throw result.error;
  return result.data;
}

const changes = (decoded: Decoded[]): ChangeEvent[] =>
  decoded.flatMap((d) => (d.type === 'change' ? [d.event] : []));
const reasons = (decoded: Decoded[]): string[] =>
  decoded.flatMap((d) => (d.type === 'ignored' ? [d.event.reason] : []));

describe('Vault / OpenBao audit entries', () => {
  it.each([
    ['openbao-kv2-write.json', 'changed', '1'],
    ['openbao-kv2-update.json', 'changed', '2'],
    ['openbao-kv2-patch.json', 'changed', '3'],
    ['openbao-kv2-metadata-write.json', 'changed', undefined],
    ['openbao-kv2-undelete.json', 'changed', undefined],
    ['openbao-kv2-delete-latest.json', 'deleted', undefined],
    ['openbao-kv2-delete-versions.json', 'deleted', undefined],
    ['openbao-kv2-destroy.json', 'deleted', undefined],
    ['openbao-kv2-metadata-delete.json', 'deleted', undefined],
  ])('keeps the successful KV v2 response %s as a %s change of secret/app-db', (file, kind, version) => {
    const [event] = changes(decodeWith(fixtureText(`vault-audit/${file}`)));

    expect(event).toMatchObject({
      ref: { backend: 'vault', address: BAO_ADDRESS, namespace: '', mount: 'secret', path: 'app-db' },
      kind,
      source: 'vault-audit',
    });
    expect(event?.version).toBe(version);
    expect(event?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ignores the request entry that precedes the outcome', () => {
    expect(reasons(decodeWith(fixtureText('vault-audit/openbao-kv2-write-request.json')))).toEqual([
      expect.stringMatching(/only responses are acted on/),
    ]);
  });

  it('ignores a failed write (check-and-set mismatch)', () => {
    expect(reasons(decodeWith(fixtureText('vault-audit/openbao-kv2-write-cas-error.json')))).toEqual([
      expect.stringMatching(/request failed/),
    ]);
  });

  it('keeps exactly the changes of a whole real session stream (NDJSON), in order', () => {
    const decoded = decodeWith(fixtureText('vault-audit/openbao-2.7.2-session.ndjson'));

    expect(
      changes(decoded).map((e) => [
        e.kind,
        e.ref.backend === 'vault' ? `${e.ref.namespace}|${e.ref.mount}|${e.ref.path}` : '',
      ]),
    ).toEqual([
      ['changed', '|secret|app/db'], // create
      ['changed', '|secret|app/db'], // update
      ['changed', '|secret|app/db'], // patch
      ['changed', '|secret|app/db'], // metadata write
      ['deleted', '|secret|app/db'], // DELETE data
      ['deleted', '|secret|app/db'], // delete versions
      ['changed', '|secret|app/db'], // undelete
      ['deleted', '|secret|app/db'], // destroy
      ['deleted', '|secret|app/db'], // DELETE metadata
      ['changed', '|kv1|app/cfg'], // KV v1 write
      ['deleted', '|kv1|app/cfg'], // KV v1 delete
      ['changed', 'team-a|kv|svc/api'], // write inside namespace team-a
    ]);
    const ignoredReasons = reasons(decoded).join('\n');
    expect(ignoredReasons).toMatch(/'read' does not change a secret/);
    expect(ignoredReasons).toMatch(/'list' does not change a secret/);
    expect(ignoredReasons).toMatch(/the request failed/);
    expect(ignoredReasons).toMatch(/mount type 'system' is not a KV secrets engine/);
    expect(ignoredReasons).toMatch(/mount type 'cubbyhole' is not a KV secrets engine/);
  });

  it('reads the namespace of an entry and drops the namespace prefix of its mount point', () => {
    const [event] = changes(
      decodeWith(fixtureText('vault-audit/openbao-namespace-kv2-create-response.json')),
    );

    expect(event?.ref).toEqual({
      backend: 'vault',
      address: BAO_ADDRESS,
      namespace: 'team-a',
      mount: 'kv',
      path: 'svc/api',
    });
    expect(event?.version).toBe('1');
  });

  it('reads a KV v1 write, whose path has no data/ segment', () => {
    const [event] = changes(decodeWith(fixtureText('vault-audit/openbao-kv1-create-response.json')));

    expect(event?.ref).toMatchObject({ mount: 'kv1', path: 'app/cfg' });
  });

  it('ignores mounts the configuration does not list', () => {
    const config = testConfig({
      vaults: [{ name: 'bao', address: BAO_ADDRESS, mounts: [{ path: 'other' }] }],
    });

    expect(reasons(decodeWith(fixtureText('vault-audit/openbao-kv2-write.json'), undefined, config))).toEqual(
      [expect.stringMatching(/is not configured for http:\/\/127\.0\.0\.1:8200/)],
    );
  });

  it('accepts a JSON array (Fluent Bit json format) and shipper-wrapped lines', () => {
    expect(changes(decodeWith(fixtureText('vault-audit/fluentbit-array.json'))).map((e) => e.kind)).toEqual([
      'changed',
      'changed',
    ]);
    expect(changes(decodeWith(fixtureText('vault-audit/shipper-wrapped.ndjson'))).map((e) => e.kind)).toEqual(
      ['changed', 'deleted'],
    );
  });

  it('selects the sending server by ?vault= name or address, and ignores entries for an unconfigured one', () => {
    const entry = fixtureText('vault-audit/openbao-kv2-write.json');

    expect(changes(decodeWith(entry, 'bao'))).toHaveLength(1);
    expect(changes(decodeWith(entry, 'HTTP://127.0.0.1:8200/'))).toHaveLength(1);
    expect(reasons(decodeWith(entry, 'elsewhere'))).toEqual([
      expect.stringMatching(/'elsewhere' is not configured/),
    ]);
  });

  it('ignores every entry when no Vault server is configured', () => {
    expect(
      reasons(
        decodeWith(fixtureText('vault-audit/openbao-kv2-write.json'), undefined, testConfig({ vaults: [] })),
      ),
    ).toEqual(['no Vault/OpenBao server is configured']);
  });

  it('refuses to guess when several servers are configured and ?vault= is missing', () => {
    const config = testConfig({
      vaults: [
        { name: 'a', address: 'http://a:8200', mounts: [{ path: 'secret' }] },
        { name: 'b', address: 'http://b:8200', mounts: [{ path: 'secret' }] },
      ],
    });

    const result = safeDecodeVaultAudit(fixtureText('vault-audit/openbao-kv2-write.json'), {
      vaults: config.vaults,
      receivedAt,
    });

    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.message).toMatch(/\?vault=<name>/);
  });

  it.each([
    ['an empty body', '  \n', /empty/],
    ['a broken NDJSON line', '{"type":"response"}\n{"type": nope}\n', /line 2 is not valid JSON/],
    ['an entry without type', '{"request":{"id":"x"}}', /entry 1 is not a Vault audit entry/],
  ])('refuses %s', (_name, body, message) => {
    const result = safeDecodeVaultAudit(body, { vaults: testConfig().vaults, receivedAt });

    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.message).toMatch(message);
  });

  it('ignores a response that names no path, and gives entries without a request id a stable digest id', () => {
    const entry = '{"type":"response","request":{"operation":"update"}}';

    const [first] = decodeWith(entry);
    const [again] = decodeWith(entry);

    expect(first).toMatchObject({
      type: 'ignored',
      event: { reason: expect.stringMatching(/names no secret/) },
    });
    expect(first?.event.id).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(again?.event.id).toBe(first?.event.id);
  });

  it('parses every line of the session fixture as an entry', () => {
    const result = safeParseVaultAuditBody(fixtureText('vault-audit/openbao-2.7.2-session.ndjson'));

    expect(result.success && result.data.length).toBe(51);
  });
});
