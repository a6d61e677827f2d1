import { ConfigError } from '../../errors.js';

/**
 * Kubernetes label selectors (`a=b,c!=d,e in (x,y),f notin (z),g,!h`) for Reloader's
 * --namespace-selector and --resource-label-selector, including Reloader's legacy forms
 * `key:value`, `key:*` and `key=*` (any value).
 */

type Requirement =
  | { op: 'exists' | 'not-exists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: string[] };

export type LabelSelector = (labels: Readonly<Record<string, string>> | null | undefined) => boolean;

export function parseLabelSelector(selector: string): LabelSelector {
  const requirements = splitRequirements(selector).map(parseRequirement);
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
}

function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

const KEY = '[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?';
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|=|!=|:)\\s*(.*)$`);
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);

function parseRequirement(text: string): Requirement {
  const set = SET.exec(text);
  if (set) {
    const values = (set[4] ?? '').split(',').map((v) => v.trim());
    return { op: set[3] === 'in' ? 'in' : 'notin', key: set[1] ?? '', values };
  }
  const eq = EQUALITY.exec(text);
  if (eq) {
    const key = eq[1] ?? '';
    const value = (eq[4] ?? '').trim();
    if (value === '*' && eq[3] !== '!=') return { op: 'exists', key };
    return { op: eq[3] === '!=' ? 'notin' : 'in', key, values: [value] };
  }
  const ex = EXISTS.exec(text);
  if (ex) return { op: ex[1] ? 'not-exists' : 'exists', key: ex[2] ?? '' };
  throw new ConfigError([`label selector requirement "${text}" is not valid`]);
}

function matches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.op) {
    case 'exists':
      return has;
    case 'not-exists':
      return !has;
    case 'in':
      return has && r.values.includes(labels[r.key] ?? '');
    case 'notin':
      return !has || !r.values.includes(labels[r.key] ?? '');
  }
}
