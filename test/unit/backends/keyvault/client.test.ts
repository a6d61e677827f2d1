import type { SecretClientOptions } from '@azure/keyvault-secrets';
import { describe, expect, it } from 'vitest';
import { createSecretClient, emulatorCredential } from '../../../../lib/backends/keyvault/client.js';
import { firstRequestAloneOption } from '../../../../lib/backends/keyvault/first-request-alone.js';
import { KeyVaultConfigSchema } from '../../../../lib/config.js';

type HttpClient = NonNullable<SecretClientOptions['httpClient']>;
type Request = Parameters<HttpClient['sendRequest']>[0];

const URL_ = 'https://vault.test';
const config = KeyVaultConfigSchema.parse({ name: 'contoso', url: URL_, auth: { kind: 'emulator' } });

/**
 * A scripted vault that answers like Key Vault: 401 with its challenge to a request without
 * a bearer token, 400 to an authenticated write without a body, the secret otherwise. The
 * answer to the SDK's stripped first request (no token, no body) is the slowest, as it was
 * under load, so a parallel first request completes the challenge before it.
 */
function scriptedVault() {
  const writes: string[] = [];
  let arrived = 0;
  let answered: () => void = () => undefined;
  const anotherAnswered = new Promise<void>((resolve) => {
    answered = resolve;
  });
  // The stripped request waits for a parallel one to be answered, if any was sent beside it
  // (a few event-loop turns let parallel requests arrive; no wall-clock wait).
  const afterAnotherAnswer = async () => {
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    if (arrived > 1) await anotherAnswered;
  };
  const httpClient: HttpClient = {
    async sendRequest(request: Request) {
      arrived += 1;
      const auth = request.headers.get('authorization');
      const body = typeof request.body === 'string' ? request.body : undefined;
      const headers = (h: Record<string, string>) => {
        const map = new Map(Object.entries(h));
        return {
          get: (n: string) => map.get(n.toLowerCase()),
          has: (n: string) => map.has(n.toLowerCase()),
          set: (n: string, v: string) => void map.set(n.toLowerCase(), v),
          delete: (n: string) => void map.delete(n.toLowerCase()),
          toJSON: () => Object.fromEntries(map),
          [Symbol.iterator]: () => map.entries(),
        };
      };
      const answer = (status: number, json: unknown, extra: Record<string, string> = {}) => ({
        request,
        status,
        headers: headers({ 'content-type': 'application/json', ...extra }) as never,
        bodyAsText: JSON.stringify(json),
      });
      if (!auth) {
        if (body === undefined) await afterAnotherAnswer();
        return answer(
          401,
          { error: { code: 'Unauthorized' } },
          {
            'www-authenticate':
              'Bearer authorization="https://login.test/tenant", resource="https://vault.azure.net"',
          },
        );
      }
      if (body === undefined)
        return answer(400, {
          error: { code: 'BadParameter', message: 'The request body must be a JSON object.' },
        });
      const name = new URL(request.url).pathname.split('/')[2] ?? '';
      writes.push(name);
      answered();
      return answer(200, {
        id: `${URL_}/secrets/${name}/v1`,
        value: JSON.parse(body).value,
        attributes: { enabled: true },
      });
    },
  };
  return { httpClient, writes };
}

const parallelFirstWrites = (client: Awaited<ReturnType<typeof createSecretClient>>) =>
  Promise.allSettled(['a', 'b', 'c'].map((n) => client.setSecret(n, `value-${n}`)));

describe('Key Vault SDK client', () => {
  it('writes every one of parallel first writes on a cold client', async () => {
    const vault = scriptedVault();
    const client = await createSecretClient(config, {
      credential: emulatorCredential,
      httpClient: vault.httpClient,
    });

    const results = await parallelFirstWrites(client);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(vault.writes.sort()).toEqual(['a', 'b', 'c']);
  });

  it('the SDK alone loses the stripped first body when a parallel request completes the challenge (why the policy exists)', async () => {
    const vault = scriptedVault();
    const { SecretClient } = await import('@azure/keyvault-secrets');
    const bare = new SecretClient(URL_, emulatorCredential, {
      httpClient: vault.httpClient,
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
    });
    const guarded = new SecretClient(URL_, emulatorCredential, {
      httpClient: scriptedVault().httpClient,
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
      additionalPolicies: firstRequestAloneOption(),
    });

    const [lost, kept] = [await parallelFirstWrites(bare), await parallelFirstWrites(guarded)];

    expect(lost.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(kept.filter((r) => r.status === 'rejected')).toHaveLength(0);
  });
});
