import { z } from 'zod';
import {
  type AddressAliases,
  aliasGroups,
  normaliseAddress,
  spellingsOf,
  trimSlashes,
} from '../../address.js';

/** A Vault / OpenBao KV secret: server, namespace ('' = root), mount and path. */
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

export type VaultRef = z.output<typeof VaultRefSchema>;

export function vaultRefKey(ref: VaultRef): string {
  const ns = ref.namespace ? `${ref.namespace}/` : '';
  return `vault:${ref.address}#${ns}${ref.mount}/${ref.path}`;
}

/** What identifies a configured Vault server: its name, address and the other spellings clusters use. */
export interface VaultIdentity {
  name: string;
  address: string;
  aliases: readonly string[];
}

/** The configured server answers at `address` (normalised), under its own address or an alias. */
export function servesAddress(vault: VaultIdentity, address: string): boolean {
  const normal = normaliseAddress(address);
  return vault.address === normal || vault.aliases.includes(normal);
}

/**
 * "Which configured Vault is this?", answered once: a configured name, or an address
 * (or alias) of a configured server. Several entries may share a server (one per
 * namespace); the first is returned, `vaultsAt` gives them all.
 */
export function configuredVault<V extends VaultIdentity>(
  nameOrAddress: string,
  vaults: readonly V[],
): V | undefined {
  const wanted = nameOrAddress.trim();
  return vaults.find((v) => v.name === wanted) ?? vaults.find((v) => servesAddress(v, wanted));
}

/** Every configured entry for the server at `address`. */
function _vaultsAt<V extends VaultIdentity>(address: string, vaults: readonly V[]): V[] {
  return vaults.filter((v) => servesAddress(v, address));
}

/** Every spelling of the server at `address`: the alias map's and the configured servers'. */
export function vaultSpellings(
  address: string,
  vaults: readonly VaultIdentity[],
  aliases?: AddressAliases,
): Set<string> {
  const configured = vaults.map((v) => [v.address, ...v.aliases]);
  return spellingsOf(address, [...aliasGroups(aliases), ...configured]);
}
