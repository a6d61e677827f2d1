import { readFileSync } from 'node:fs';
import type { TokenCredential } from '@azure/identity';
import type { SecretClient, SecretClientOptions } from '@azure/keyvault-secrets';
import type { KeyVaultConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { firstRequestAloneOption } from './first-request-alone.js';
import { keyVaultUrlOf } from './ref.js';

/** Builds the SDK client for one configured vault; injected in tests to count or wrap calls. */
export type SecretClientFactory = (config: KeyVaultConfig) => SecretClient | Promise<SecretClient>;

export interface KeyVaultClientOptions {
  /** Overrides the credential the config asks for (a shared DefaultAzureCredential, a test credential). */
  credential?: TokenCredential;
  serviceVersion?: SecretClientOptions['serviceVersion'];
  /** The transport (a test's scripted vault). */
  httpClient?: SecretClientOptions['httpClient'];
}

/**
 * Emulators such as Lowkey Vault accept any bearer token; the SDK still runs its
 * challenge flow, so it must be given something that answers getToken.
 */
export const emulatorCredential: TokenCredential = {
  getToken: async () => ({ token: 'rotor-emulator-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

async function credentialFor(config: KeyVaultConfig): Promise<TokenCredential> {
  if (config.auth.kind === 'emulator') return emulatorCredential;
  const { DefaultAzureCredential } = await import('@azure/identity');
  const clientId = config.auth.managedIdentityClientId;
  return clientId
    ? new DefaultAzureCredential({ managedIdentityClientId: clientId })
    : new DefaultAzureCredential();
}

/**
 * Trusts an extra CA for this client only, never process-wide (NODE_EXTRA_CA_CERTS would
 * trust an emulator's certificate for every Azure call): the pipeline's tlsOptions become
 * the tlsSettings of this client's own HTTPS agent.
 */
function caOf(config: KeyVaultConfig): string | undefined {
  if (!config.tls.caFile) return undefined;
  try {
    return readFileSync(config.tls.caFile, 'utf8');
  } catch (error) {
    throw new ConfigError([`keyVaults[${config.name}].tls.caFile: cannot read ${config.tls.caFile}`], {
      cause: error,
    });
  }
}

/** The SDK loads here, on the first call to the vault: a cold start that never rotates skips it. */
export async function createSecretClient(
  config: KeyVaultConfig,
  options: KeyVaultClientOptions = {},
): Promise<SecretClient> {
  const { SecretClient } = await import('@azure/keyvault-secrets');
  const clientOptions: SecretClientOptions = {
    // Resource verification compares the challenge's resource with *.vault.azure.net; an emulator cannot pass it.
    disableChallengeResourceVerification: config.auth.kind === 'emulator',
    retryOptions: { maxRetries: 2 },
    additionalPolicies: firstRequestAloneOption(),
  };
  const ca = caOf(config);
  if (ca) clientOptions.tlsOptions = { ca };
  if (options.serviceVersion) clientOptions.serviceVersion = options.serviceVersion;
  if (options.httpClient) clientOptions.httpClient = options.httpClient;
  return new SecretClient(
    keyVaultUrlOf(config),
    options.credential ?? (await credentialFor(config)),
    clientOptions,
  );
}
