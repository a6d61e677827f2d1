/**
 * Address canon shared by every backend: how two spellings of one server are told to be
 * the same. Backend-specific rules (a Key Vault URL in another cloud, a Vault alias) live
 * in the backend's folder and build on these.
 */

export function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** Resolving one event compares every ExternalSecret's store URL: the same few strings, each URL-parsed. */
const normalised = new Map<string, string>();
const NORMALISED_KEPT = 1_000;

/**
 * `https://Vault.example:443/` and `https://vault.example` are the same server.
 * Lower-cases scheme and host, drops default ports and trailing slashes; a bare host gets https.
 */
export function normaliseAddress(address: string): string {
  let normal = normalised.get(address);
  if (normal === undefined) {
    if (normalised.size >= NORMALISED_KEPT) normalised.clear();
    normal = normalise(address);
    normalised.set(address, normal);
  }
  return normal;
}

function normalise(address: string): string {
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

/** `url` is `base` or a path below it (an object id below its vault's URL), both normalised. */
export function isAtOrBelow(url: string, base: string): boolean {
  return url === base || url.startsWith(`${base}/`);
}

/**
 * Canonical address → other spellings of it seen from clusters (in-cluster service names,
 * private endpoints). Every spelling in a group is the same server.
 */
export type AddressAliases = Readonly<Record<string, readonly string[]>>;

/** Every normalised spelling of `address`: itself and each alias group that contains it. */
export function spellingsOf(address: string, groups: Iterable<readonly string[]>): Set<string> {
  const own = normaliseAddress(address);
  const spellings = new Set([own]);
  for (const members of groups) {
    const group = members.map((a) => normaliseAddress(a));
    if (group.includes(own)) for (const a of group) spellings.add(a);
  }
  return spellings;
}

export function aliasGroups(aliases: AddressAliases | undefined): Array<readonly string[]> {
  return Object.entries(aliases ?? {}).map(([key, others]) => [key, ...others]);
}
