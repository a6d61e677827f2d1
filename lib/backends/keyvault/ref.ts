import { z } from 'zod';
import {
  type AddressAliases,
  aliasGroups,
  isAtOrBelow,
  normaliseAddress,
  spellingsOf,
} from '../../address.js';

/** A Key Vault secret: the vault's name (as in `https://<vault>.vault.azure.net`, lower-case) and the secret's. */
export const KeyVaultRefSchema = z.object({
  backend: z.literal('azure-keyvault'),
  vault: z
    .string()
    .min(1)
    .transform((v) => v.toLowerCase()),
  name: z.string().min(1),
});

export type KeyVaultRef = z.output<typeof KeyVaultRefSchema>;

export function keyVaultRefKey(ref: KeyVaultRef): string {
  return `azure-keyvault:${ref.vault}/${ref.name}`;
}

/** What identifies a configured Key Vault: its name and, for emulators and custom endpoints, its URL. */
export interface KeyVaultIdentity {
  name: string;
  url?: string;
}

/** The vault's URL, normalised: the configured one, else the public cloud's. */
export function keyVaultUrlOf(kv: KeyVaultIdentity): string {
  return normaliseAddress(kv.url ?? `https://${kv.name}.vault.azure.net`);
}

/**
 * Key Vault data-plane hosts: public cloud, China, US Government, Germany, and private
 * links (`<name>.privatelink.vaultcore.azure.net`, `<name>.vaultcore.azure.net`). Each keeps
 * the vault's name as its first label.
 */
const AZURE_VAULT_HOST =
  /^([a-z0-9-]+)\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|vault\.microsoftazure\.de|(privatelink\.)?vaultcore\.azure\.net)$/;

/** The vault a URL on an Azure Key Vault host names (any cloud, private link), else undefined. */
export function azureKeyVaultNameOf(url: string): string | undefined {
  const normal = normaliseAddress(url);
  if (!URL.canParse(normal)) return undefined;
  const parsed = new URL(normal);
  return parsed.protocol === 'https:' ? AZURE_VAULT_HOST.exec(parsed.hostname)?.[1] : undefined;
}

/**
 * A URL (an ESO `vaultUrl`, an event's object id) is this vault's: its configured URL or
 * the public one, in any alias spelling, or, for a vault configured by name only, the same
 * name on any Azure Key Vault host. A vault configured with a URL is only that URL.
 */
export function isKeyVaultUrl(kv: KeyVaultIdentity, url: string, aliases?: AddressAliases): boolean {
  const normal = normaliseAddress(url);
  const groups = aliasGroups(aliases);
  const bases = new Set([
    ...spellingsOf(keyVaultUrlOf(kv), groups),
    ...spellingsOf(keyVaultUrlOf({ name: kv.name }), groups),
  ]);
  for (const base of bases) if (isAtOrBelow(normal, base)) return true;
  return kv.url === undefined && azureKeyVaultNameOf(originOf(normal)) === kv.name;
}

/** The configured Key Vault a URL names, by the rule of isKeyVaultUrl. */
export function configuredKeyVaultOf<K extends KeyVaultIdentity>(
  url: string,
  keyVaults: readonly K[],
  aliases?: AddressAliases,
): K | undefined {
  return keyVaults.find((kv) => isKeyVaultUrl(kv, url, aliases));
}

/** Vault name from a URL a person typed (`https://myvault.vault.azure.net/`, an emulator URL): its first host label. */
export function keyVaultNameFromUrl(url: string): string {
  const host = new URL(normaliseAddress(url)).hostname;
  return (host.split('.')[0] ?? host).toLowerCase();
}

function originOf(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : url;
}
