import { describe, expect, it } from 'vitest';
import type { VaultClient } from '../../../../lib/backends/vault/client.js';
import { refusedError } from '../../../../lib/backends/vault/errors.js';
import { TokenCheck } from '../../../../lib/backends/vault/token-check.js';
import { ForbiddenError } from '../../../../lib/errors.js';

/** A client whose lookup-self answers as OpenBao does for `known` tokens, and counts the calls. */
function clientWith(token: string, lookup: 'ok' | 403 | 'down') {
  const client = {
    token,
    lookups: 0,
    async tokenLookupSelf() {
      client.lookups++;
      if (lookup === 'ok') return { data: { id: token } };
      if (lookup === 'down') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      throw Object.assign(new Error('permission denied'), { response: { statusCode: 403 } });
    },
  };
  return client as typeof client & VaultClient;
}

const denied = Object.assign(new Error('permission denied'), {
  response: { statusCode: 403, body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] } },
});

describe('why Vault refused a token (TokenCheck)', () => {
  it('a token that cannot look itself up is invalid; one that can lacks a policy', async () => {
    expect(await new TokenCheck().explain(clientWith('gone', 403))).toBe('invalid-token');
    expect(await new TokenCheck().explain(clientWith('valid', 'ok'))).toBe('not-permitted');
  });

  it('asks once per token for a burst of refusals, and again after 30 s', async () => {
    let now = 0;
    const check = new TokenCheck(() => now);
    const client = clientWith('gone', 403);

    await Promise.all([check.explain(client), check.explain(client), check.explain(client)]);
    expect(client.lookups).toBe(1);
    now = 30_001;
    await check.explain(client);
    expect(client.lookups).toBe(2);
  });

  it('a lookup that fails for another reason says nothing and is not cached', async () => {
    const check = new TokenCheck(() => 0);
    const client = clientWith('t', 'down');

    expect(await check.explain(client)).toBe('unknown');
    await check.explain(client);
    expect(client.lookups).toBe(2);
  });
});

describe('the refusal in the user words (refusedError)', () => {
  const vault = { name: 'main', auth: { method: 'token' as const, token: undefined as never } };

  it('an invalid token names the setting to fix and grants nothing', () => {
    const error = refusedError(denied, 'secret secret/app', 'invalid-token', vault);

    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error.message).toMatch(/token is invalid or expired.*vaults\[main\]\.auth\.token/);
    expect(error.message).not.toMatch(/grant/);
  });

  it('a valid token without the policy is told what to grant', () => {
    const error = refusedError(denied, 'secret secret/app', 'not-permitted', vault);

    expect(error.message).toMatch(
      /valid but its policies do not allow this \(403: 1 error occurred: \* permission denied\); grant/,
    );
  });

  it('an unknown refusal keeps the generic message', () => {
    expect(refusedError(denied, 'secret secret/app', 'unknown', vault).message).toMatch(
      /not allowed \(403\)/,
    );
  });
});
