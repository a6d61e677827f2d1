import { z } from 'zod';

/**
 * A secret in a backend, independent of how it was learned of. Identity is the whole
 * reference, never the name alone: the same name in another vault or mount is another secret.
 */
export const KeyVaultRefSchema = z.object({
  backend: z.literal('azure-keyvault'),
  /** Vault name as in `https://<vault>.vault.azure.net`, lower-case. */
  vault: z
    .string()
    .min(1)
    .transform((v) => v.toLowerCase()),
  name: z.string().min(1),
});

export const VaultRefSchema = z.object({
  backend: z.literal('vault'),
  /** Server address, normalised with `normaliseAddress`. */
  address: z
    .string()
    .min(1)
    .transform((a) => normaliseAddress(a)),
  /** Vault Enterprise / OpenBao namespace; '' is the root namespace. */
  namespace: z
    .string()
    .default('')
    .transform((n) => trimSlashes(n)),
  mount: z
    .string()
    .min(1)
    .transform((m) => trimSlashes(m)),
  path: z
    .string()
    .min(1)
    .transform((p) => trimSlashes(p)),
});

export const SecretRefSchema = z.discriminatedUnion('backend', [KeyVaultRefSchema, VaultRefSchema]);

export type KeyVaultRef = z.output<typeof KeyVaultRefSchema>;
export type VaultRef = z.output<typeof VaultRefSchema>;
export type SecretRef = KeyVaultRef | VaultRef;

export function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * `https://Vault.example:443/` and `https://vault.example` are the same server.
 * Lower-cases scheme and host, drops default ports and trailing slashes; a bare host gets https.
 */
export function normaliseAddress(address: string): string {
  const raw = address.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`;
  try {
    const url = new URL(withScheme);
    const port = url.port && url.port !== DEFAULT_PORTS[url.protocol] ? `:${url.port}` : '';
    const path = url.pathname.replace(/\/+$/, '');
    return `${url.protocol}//${url.hostname.toLowerCase()}${port}${path}`;
  } catch {
    return raw.toLowerCase().replace(/\/+$/, '');
  }
}

/** Vault name from a Key Vault URL such as `https://myvault.vault.azure.net/` (or an emulator URL). */
export function keyVaultNameFromUrl(url: string): string {
  const host = new URL(normaliseAddress(url)).hostname;
  return (host.split('.')[0] ?? host).toLowerCase();
}

/** Stable string key, used for coalescing, leases and logs. Never contains a value. */
export function refKey(ref: SecretRef): string {
  if (ref.backend === 'azure-keyvault') return `azure-keyvault:${ref.vault}/${ref.name}`;
  const ns = ref.namespace ? `${ref.namespace}/` : '';
  return `vault:${ref.address}#${ns}${ref.mount}/${ref.path}`;
}
