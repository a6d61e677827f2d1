import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../lib/change-event.js';
import { parseCloudEvents } from '../../../lib/events/cloudevents.js';
import type { Decoded } from '../../../lib/events/decoded.js';
import { parseEventGridEvents } from '../../../lib/events/eventgrid.js';
import {
  envelopeFromCloudEvent,
  envelopeFromEventGrid,
  type KeyVaultEnvelope,
  normaliseData,
  safeDecodeKeyVaultDelivery,
  safeDecodeKeyVaultEvent,
} from '../../../lib/events/keyvault-event.js';
import { fixtureJson, testConfig } from './support.js';

const receivedAt = new Date('2024-06-01T00:00:00Z');
const context = { keyVaults: testConfig().keyVaults, receivedAt };

function decode(envelope: KeyVaultEnvelope): Decoded {
  const result = safeDecodeKeyVaultEvent(envelope, context);
  if (!result.success) throw result.error;
  return result.data;
}

function change(decoded: Decoded): ChangeEvent {
  if (decoded.type !== 'change') throw new Error(`expected a change, got ignored: ${decoded.event.reason}`);
  return decoded.event;
}

const docsSample = () =>
  envelopeFromEventGrid(
    parseEventGridEvents(fixtureJson('eventgrid/keyvault-secret-new-version.eventgrid.json'))[0]!,
  );

describe('Key Vault events', () => {
  it('turns the documented SecretNewVersionCreated (PascalCase, stray spaces) into a change of that secret', () => {
    const event = change(decode(docsSample()));

    expect(event).toEqual({
      id: '00eccf70-95a7-4e7c-8299-2eb17ee9ad64',
      ref: { backend: 'azure-keyvault', vault: 'sample-kv', name: 'newsecret' },
      version: 'ee059b2bb5bc48398a53b168c6cdcb10',
      kind: 'changed',
      source: 'eventgrid',
      observedAt: new Date('2019-07-25T01:08:33.1036736Z'),
      receivedAt,
    });
  });

  it('reads camelCase data keys the same way', () => {
    const [raw] = parseEventGridEvents(
      fixtureJson('eventgrid/keyvault-secret-new-version.camelcase.eventgrid.json'),
    );

    expect(change(decode(envelopeFromEventGrid(raw!)))).toEqual(change(decode(docsSample())));
  });

  it('reads the CloudEvents form of the same event the same way', () => {
    const [raw] = parseCloudEvents(fixtureJson('eventgrid/keyvault-secret-new-version.cloudevents.json'));

    expect(change(decode(envelopeFromCloudEvent(raw!)))).toEqual(change(decode(docsSample())));
  });

  it('normalises data keys case- and whitespace-insensitively and trims string values', () => {
    expect(normaliseData({ ' Object Name ': ' x ', VAULTNAME: 'kv', nbf: 1 })).toEqual({
      objectname: 'x',
      vaultname: 'kv',
      nbf: 1,
    });
  });

  const allTypes = parseEventGridEvents(fixtureJson('eventgrid/keyvault-all-types.eventgrid.json')).map(
    envelopeFromEventGrid,
  );

  it.each([
    ['Microsoft.KeyVault.SecretNewVersionCreated', 'changed', 'db-password'],
    ['Microsoft.KeyVault.SecretNearExpiry', 'near-expiry', 'db-password'],
    ['Microsoft.KeyVault.SecretExpired', 'expired', 'db-password'],
    ['Microsoft.KeyVault.CertificateNewVersionCreated', 'changed', 'tls-cert'],
    ['Microsoft.KeyVault.CertificateNearExpiry', 'near-expiry', 'tls-cert'],
    ['Microsoft.KeyVault.CertificateExpired', 'expired', 'tls-cert'],
  ])('maps %s to a %s change of the secret %s', (type, kind, name) => {
    const event = change(decode(allTypes.find((e) => e.type === type)!));

    expect(event.kind).toBe(kind);
    expect(event.ref).toEqual({ backend: 'azure-keyvault', vault: 'sample-kv', name });
  });

  it.each([
    ['Microsoft.KeyVault.KeyNewVersionCreated', /keys are not consumed/],
    ['Microsoft.KeyVault.KeyNearExpiry', /keys are not consumed/],
    ['Microsoft.KeyVault.KeyExpired', /keys are not consumed/],
    ['Microsoft.KeyVault.VaultAccessPolicyChanged', /access policy/],
  ])('acknowledges %s and ignores it with a reason', (type, reason) => {
    const decoded = decode(allTypes.find((e) => e.type === type)!);

    expect(decoded.type).toBe('ignored');
    expect(decoded.event.id).toMatch(/^6c1e4a52/);
    if (decoded.type === 'ignored') expect(decoded.event.reason).toMatch(reason);
  });

  it('ignores an event of a vault that is not configured, naming the vault', () => {
    const envelope = {
      ...docsSample(),
      source: '/subscriptions/x/resourceGroups/y/providers/Microsoft.KeyVault/vaults/other-kv',
      data: {},
    };

    const decoded = decode(envelope);

    expect(decoded.type === 'ignored' && decoded.event.reason).toMatch(/'other-kv' is not configured/);
  });

  it('ignores Key Vault event types it does not know and events of other services', () => {
    expect(decode({ ...docsSample(), type: 'Microsoft.KeyVault.SecretDeleted' })).toMatchObject({
      type: 'ignored',
    });
    expect(decode({ ...docsSample(), type: 'Microsoft.Storage.BlobCreated' })).toMatchObject({
      type: 'ignored',
    });
  });

  it('refuses an event whose topic and data name different vaults', () => {
    const envelope = { ...docsSample(), data: { VaultName: 'another-kv', ObjectName: 'newsecret' } };

    const result = safeDecodeKeyVaultEvent(envelope, context);

    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.message).toMatch(/topic names vault 'sample-kv'/);
  });

  it('finds the vault from the object id when the URL is a configured vault URL (emulators)', () => {
    const envelope: KeyVaultEnvelope = {
      id: 'e1',
      type: 'Microsoft.KeyVault.SecretNewVersionCreated',
      data: { Id: 'https://127.0.0.1:8443/secrets/app-db/0123', ObjectName: 'app-db', Version: '0123' },
    };

    expect(change(decode(envelope)).ref).toEqual({
      backend: 'azure-keyvault',
      vault: 'lowkey',
      name: 'app-db',
    });
  });

  it.each([
    ['no vault at all', { data: { ObjectName: 'x' }, source: undefined }, /names no vault/],
    [
      'an object name that is not a Key Vault name',
      { data: { ObjectName: 'a/../b' } },
      /not a Key Vault object name/,
    ],
    ['a time that is not a date', { time: 'yesterday' }, /not a date/],
  ])('refuses an event with %s', (_name, patch, message) => {
    const result = safeDecodeKeyVaultEvent({ ...docsSample(), ...patch } as KeyVaultEnvelope, context);

    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.message).toMatch(message);
  });

  it('decodes one trigger invocation of either schema', () => {
    const eventGrid = fixtureJson<unknown[]>('eventgrid/keyvault-secret-new-version.eventgrid.json')[0];
    const cloud = fixtureJson('eventgrid/keyvault-secret-new-version.cloudevent.json');

    expect(safeDecodeKeyVaultDelivery(eventGrid, context)).toMatchObject({
      success: true,
      data: { type: 'change' },
    });
    expect(safeDecodeKeyVaultDelivery(cloud, context)).toMatchObject({
      success: true,
      data: { type: 'change' },
    });
    expect(safeDecodeKeyVaultDelivery([eventGrid], context).success).toBe(false);
  });
});
