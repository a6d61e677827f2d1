import type { AccessToken, TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { firstRequestAloneOption } from '../../lib/backends/keyvault/first-request-alone.js';
import type { EnvDescriptor } from './descriptor.js';

/**
 * A SecretClient for the test Key Vault endpoint, with TLS verification on and only the
 * environment's CA trusted for this client (`tlsOptions.ca` replaces the default CA list
 * in the client's own HTTPS agent; nothing process-wide changes).
 *
 * The endpoint's challenge names resource https://vault.azure.net, which does not match
 * 127.0.0.1, hence `disableChallengeResourceVerification`. It accepts any bearer token,
 * so a static credential stands in for Entra ID.
 */
export function keyVaultClientForTest(kv: EnvDescriptor['lowkey']): SecretClient {
  return new SecretClient(kv.vaultUrl, staticTokenCredential(), {
    tlsOptions: { ca: kv.caPem },
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 1 },
    // Parallel first writes on a fresh client lose a body in the SDK's challenge flow.
    additionalPolicies: firstRequestAloneOption(),
  });
}

/** A TokenCredential that hands out a fixed, long-lived token (for the test endpoint only). */
export function staticTokenCredential(token = 'rotor-test-token'): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }),
  };
}
