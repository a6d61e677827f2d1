import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../lib/rotation/policy.js';

const DEFAULT_VALIDITY = 60;

describe('parsePolicy', () => {
  it('treats a secret without rotor or PostgreSQL tags as having no policy, so it is never rotated', () => {
    const result = parsePolicy({ env: 'prod', owner: 'team-a' }, DEFAULT_VALIDITY);

    expect(result.kind).toBe('none');
  });

  it('leaves secrets of the Azure samples for other providers alone (ProviderAddress is an Azure resource id)', () => {
    const result = parsePolicy(
      {
        CredentialId: 'key1',
        ProviderAddress:
          '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acc',
        ValidityPeriodDays: '60',
      },
      DEFAULT_VALIDITY,
    );

    expect(result.kind).toBe('none');
  });

  it('reads the samples tags with a PostgreSQL ProviderAddress as a single-role PostgreSQL policy', () => {
    const result = parsePolicy(
      {
        CredentialId: 'app',
        ProviderAddress: 'postgresql://db.internal:5432/orders',
        ValidityPeriodDays: '30',
      },
      DEFAULT_VALIDITY,
    );

    expect(result).toMatchObject({
      kind: 'policy',
      policy: {
        generator: { kind: 'postgres', mode: 'single' },
        validityDays: 30,
        credentialId: 'app',
        providerAddress: 'postgresql://db.internal:5432/orders',
      },
    });
  });

  it('defaults the validity to the configured days when ValidityPeriodDays is absent', () => {
    const result = parsePolicy({ 'rotor-generator': 'password' }, DEFAULT_VALIDITY);

    expect(result).toMatchObject({ kind: 'policy', policy: { validityDays: 60 } });
  });

  it('matches tag keys case-insensitively, as Key Vault users spell them variously', () => {
    const result = parsePolicy({ 'Rotor-Generator': 'bytes', validityperioddays: '10' }, DEFAULT_VALIDITY);

    expect(result).toMatchObject({
      kind: 'policy',
      policy: { generator: { kind: 'bytes' }, validityDays: 10 },
    });
  });

  it('reads generator options, period and schedule', () => {
    const result = parsePolicy(
      {
        'rotor-generator': 'password',
        'rotor-generator-options':
          '{"length":48,"classes":["lower","digit"],"exclude":"0o1l","field":"token"}',
        'rotor-period-days': '7',
        'rotor-schedule': '0 3 * * 1',
      },
      DEFAULT_VALIDITY,
    );

    expect(result).toMatchObject({
      kind: 'policy',
      policy: {
        generator: {
          kind: 'password',
          length: 48,
          classes: ['lower', 'digit'],
          exclude: '0o1l',
          field: 'token',
        },
        periodDays: 7,
        schedule: '0 3 * * 1',
      },
    });
  });

  it('reads a dual-role PostgreSQL policy with its two roles', () => {
    const result = parsePolicy(
      {
        'rotor-generator': 'postgres',
        'rotor-generator-options': '{"mode":"dual","roles":["app_blue","app_green"]}',
        ProviderAddress: 'orders-db',
      },
      DEFAULT_VALIDITY,
    );

    expect(result).toMatchObject({
      kind: 'policy',
      policy: { generator: { kind: 'postgres', mode: 'dual', roles: ['app_blue', 'app_green'] } },
    });
  });

  it.each([
    [{ 'rotor-generator': 'sha1' }, 'rotor-generator: must be one of password, bytes, postgres'],
    [{ 'rotor-generator': 'password', 'rotor-generator-options': 'length=10' }, 'must be a JSON object'],
    [{ 'rotor-generator': 'password', 'rotor-generator-options': '{"length":4}' }, 'length'],
    [{ 'rotor-generator': 'password', 'rotor-generator-options': '{"colour":"red"}' }, 'colour'],
    [{ 'rotor-generator': 'password', ValidityPeriodDays: 'soon' }, 'ValidityPeriodDays'],
    [{ 'rotor-generator': 'password', 'rotor-period-days': '-1' }, 'rotor-period-days'],
    [{ 'rotor-generator': 'password', 'rotor-schedule': 'every monday' }, 'rotor-schedule'],
    [
      { 'rotor-generator': 'postgres', 'rotor-generator-options': '{"mode":"dual"}' },
      'two different role names',
    ],
    [
      { 'rotor-generator': 'postgres', 'rotor-generator-options': '{"mode":"dual","roles":["a","a"]}' },
      'two different',
    ],
    [
      {
        'rotor-generator': 'password',
        'rotor-generator-options': '{"classes":["digit"],"exclude":"0123456789"}',
      },
      'no characters left',
    ],
  ])('reports an invalid policy %j with an issue naming %s', (tags, expected) => {
    const result = parsePolicy(tags, DEFAULT_VALIDITY);

    expect(result.kind).toBe('invalid');
    expect(result.kind === 'invalid' && result.issues.join('\n')).toContain(expected);
  });

  it('reads rotor-verify: rollout (any case), and refuses any other value', () => {
    const asked = parsePolicy({ 'rotor-generator': 'password', 'Rotor-Verify': 'Rollout' }, DEFAULT_VALIDITY);
    const wrong = parsePolicy({ 'rotor-generator': 'password', 'rotor-verify': 'yes' }, DEFAULT_VALIDITY);

    expect(asked.kind === 'policy' && asked.policy.verify).toBe('rollout');
    expect(wrong.kind === 'invalid' && wrong.issues.join('\n')).toContain('rotor-verify');
  });
});
