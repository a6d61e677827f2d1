import type { z } from 'zod';
import { type Config, ConfigSchema } from '../config.js';
import { ConfigError } from '../errors.js';
import { checkConfig } from './check.js';
import { findUnknownKeys } from './unknown-keys.js';

export type ConfigPath = readonly (string | number)[];

const dotted = (path: ConfigPath) => path.join('.') || '(root)';

/**
 * The one validation of a configuration document: unknown keys (with the closest valid
 * one), the schema, then (for a configuration read from the environment, `deep`) checkConfig:
 * files, kubeconfig contexts, credentials. Every problem is listed at once in one
 * ConfigError; `where` names a path the way the user wrote it (an app setting, a file:line).
 */
export function validateConfig(
  doc: unknown,
  options: { where?: (path: ConfigPath) => string; earlier?: readonly string[]; deep?: boolean } = {},
): Config {
  const where = options.where ?? dotted;
  const issues = [...(options.earlier ?? [])];
  for (const u of findUnknownKeys(ConfigSchema, doc)) {
    const hint = u.suggestion ? ` (did you mean "${u.suggestion}"?)` : '';
    issues.push(`${where(u.path)}: unknown setting "${String(u.path.at(-1))}"${hint}`);
  }
  const result = ConfigSchema.safeParse(doc);
  if (!result.success) {
    issues.push(...result.error.issues.map((i) => `${where(i.path as ConfigPath)}: ${messageOf(i)}`));
    throw new ConfigError(issues);
  }
  if (options.deep) issues.push(...checkConfig(result.data).map((p) => `${where(p.path)}: ${p.message}`));
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(result.data);
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) return 'required';
  return issue.message;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
