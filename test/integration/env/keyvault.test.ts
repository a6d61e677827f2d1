import https from 'node:https';
import { SecretClient } from '@azure/keyvault-secrets';
import { describe, expect, it } from 'vitest';
import { keyVaultClientForTest, staticTokenCredential, testEnv, uniqueName } from '../../env/index.js';

describe('Key Vault endpoint (stand-in) through @azure/keyvault-secrets', () => {
  it('sets and gets a secret over verified TLS, each write making a new version', async () => {
    const client = keyVaultClientForTest(testEnv().lowkey);
    const name = uniqueName('kv-secret');

    const first = await client.setSecret(name, 'value-1', { tags: { ValidityPeriodDays: '60' } });
    const second = await client.setSecret(name, 'value-2');
    const latest = await client.getSecret(name);
    const older = await client.getSecret(name, { version: first.properties.version });

    expect(latest.value).toBe('value-2');
    expect(latest.properties.version).toBe(second.properties.version);
    expect(older.value).toBe('value-1');
    expect(older.properties.tags).toEqual({ ValidityPeriodDays: '60' });
    expect(first.properties.version).not.toBe(second.properties.version);
    expect(new URL(latest.properties.id ?? '').origin).toBe(testEnv().lowkey.vaultUrl);
  });

  it('is not trusted without the environment CA (TLS verification is really on)', async () => {
    const kv = testEnv().lowkey;
    const untrusting = new SecretClient(kv.vaultUrl, staticTokenCredential(), {
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
    });

    await expect(untrusting.getSecret('anything')).rejects.toThrow(/certificate|self.signed|verify/i);
  });

  it('answers a missing secret with 404 SecretNotFound, as Key Vault does', async () => {
    const client = keyVaultClientForTest(testEnv().lowkey);

    await expect(client.getSecret(uniqueName('missing'))).rejects.toMatchObject({
      statusCode: 404,
      code: 'SecretNotFound',
    });
  });

  it('soft-deletes, recovers and purges', async () => {
    const client = keyVaultClientForTest(testEnv().lowkey);
    const name = uniqueName('deleted');
    await client.setSecret(name, 'v');

    const deleted = await (await client.beginDeleteSecret(name)).pollUntilDone();
    const reuse = client.setSecret(name, 'again');
    await expect(reuse).rejects.toMatchObject({ statusCode: 409 });
    await (await client.beginRecoverDeletedSecret(name)).pollUntilDone();
    const recovered = await client.getSecret(name);
    await (await client.beginDeleteSecret(name)).pollUntilDone();
    await client.purgeDeletedSecret(name);

    expect(deleted.recoveryId).toContain(`/deletedsecrets/${name}`);
    expect(recovered.value).toBe('v');
    await expect(client.getSecret(name)).rejects.toMatchObject({ statusCode: 404 });
  });
});

describe('Key Vault endpoint (stand-in) connections', () => {
  it('keeps idle keep-alive connections longer than clients do (Go: 90 s), as Azure does, so a reused connection is never closed under the client', async () => {
    const kv = testEnv().lowkey;
    const agent = new https.Agent({ keepAlive: true, ca: kv.caPem });
    try {
      const keepAlive = await new Promise<string | undefined>((resolve, reject) => {
        https
          .get(`${kv.vaultUrl}/secrets/anything?api-version=7.5`, { agent }, (res) => {
            res.resume();
            resolve(String(res.headers['keep-alive'] ?? ''));
          })
          .on('error', reject);
      });

      const idleSeconds = Number(/timeout=(\d+)/.exec(keepAlive ?? '')?.[1]);
      expect(idleSeconds).toBeGreaterThan(90);
    } finally {
      agent.destroy();
    }
  });
});
