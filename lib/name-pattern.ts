/**
 * Allow-lists in configuration: each entry is an exact name, or an anchored glob where
 * `*` matches any run of characters except `/` and `**` any run including `/`. Nothing
 * else is special, so a role or path name never needs escaping and never acts as a regex.
 */
export function matchesPattern(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const source = pattern
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : escapeRegExp(part)))
    .join('');
  return new RegExp(`^${source}$`, 'su').test(value);
}

export function matchesAny(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => matchesPattern(p, value));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
