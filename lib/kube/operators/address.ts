import type { KeyVaultConfig, VaultConfig } from '../../config.js';
import { type KeyVaultRef, keyVaultNameFromUrl, normaliseAddress, type VaultRef } from '../../secret-ref.js';

/**
 * Clusters often reach a backend under another name than rotor does (an in-cluster
 * service, a private endpoint). An alias list maps each canonical address to those
 * spellings; every comparison goes through the normalised form.
 */
export type AddressAliases = Readonly<Record<string, readonly string[]>>;

export interface MatchOptions {
  aliases?: AddressAliases;
  vaultConfigs?: readonly VaultConfig[];
  keyVaultConfigs?: readonly KeyVaultConfig[];
}

/** Every normalised spelling of `canonical`: itself, alias-map entries and config aliases. */
export function addressSpellings(canonical: string, opts: MatchOptions): Set<string> {
  const own = normaliseAddress(canonical);
  const spellings = new Set([own]);
  for (const [key, aliases] of Object.entries(opts.aliases ?? {})) {
    const group = [key, ...aliases].map((a) => normaliseAddress(a));
    if (group.includes(own)) for (const a of group) spellings.add(a);
  }
  for (const vault of opts.vaultConfigs ?? []) {
    const group = [vault.address, ...vault.aliases].map((a) => normaliseAddress(a));
    if (group.includes(own)) for (const a of group) spellings.add(a);
  }
  return spellings;
}

/** Decides whether an address or Key Vault written in a cluster object is the ref's backend. */
export interface BackendMatcher {
  /** Vault/OpenBao server address (ESO `vault.server`, VSO `VaultConnection.address`, CSI `vaultAddress`). */
  vaultServer(address: string): boolean;
  /** Key Vault URL (ESO `azurekv.vaultUrl`). */
  keyVaultUrl(url: string): boolean;
  /** Key Vault name (CSI `keyvaultName`). */
  keyVaultName(name: string): boolean;
}

export function vaultMatcher(ref: VaultRef, opts: MatchOptions): BackendMatcher {
  const spellings = addressSpellings(ref.address, opts);
  return {
    vaultServer: (address) => spellings.has(normaliseAddress(address)),
    keyVaultUrl: () => false,
    keyVaultName: () => false,
  };
}

export function keyVaultMatcher(ref: KeyVaultRef, opts: MatchOptions): BackendMatcher {
  const configured = (opts.keyVaultConfigs ?? []).filter((k) => k.name === ref.vault && k.url);
  const urls = new Set<string>();
  for (const k of configured) for (const a of addressSpellings(k.url as string, opts)) urls.add(a);
  const defaultUrl = `https://${ref.vault}.vault.azure.net`;
  for (const a of addressSpellings(defaultUrl, opts)) urls.add(a);
  return {
    vaultServer: () => false,
    keyVaultUrl: (url) => {
      const normal = normaliseAddress(url);
      if (urls.has(normal)) return true;
      // Sovereign clouds and private links keep the vault name as the first host label.
      return configured.length === 0 && isAzureVaultHost(normal) && keyVaultNameFromUrl(normal) === ref.vault;
    },
    keyVaultName: (name) => name.trim().toLowerCase() === ref.vault,
  };
}

const AZURE_VAULT_HOST =
  /^https:\/\/[a-z0-9-]+\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|vault\.microsoftazure\.de|(privatelink\.)?vaultcore\.azure\.net)$/;

function isAzureVaultHost(normalisedUrl: string): boolean {
  return AZURE_VAULT_HOST.test(normalisedUrl);
}
