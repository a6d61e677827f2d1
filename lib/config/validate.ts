import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { findUnknownKeys } from './unknown-keys.js';

export type ConfigPath = readonly (string | number)[];

const dotted = (path: ConfigPath) => path.join('.') || '(root)';

export interface ValidateOptions<T> {
  /** Names a path the way the user wrote it (an app setting, a file:line). */
  where?: (path: ConfigPath) => string;
  /** Problems found before (syntax errors of the document). */
  earlier?: readonly string[];
  /** Checks the schema cannot express (files, contexts, credentials): lib/config/check.ts. */
  deep?: (value: T) => Array<{ path: ConfigPath; message: string }>;
}

/**
 * The one validation of a configuration document: unknown keys (with the closest valid
 * one), the schema, then the deep checks. Every problem is listed at once in one ConfigError.
 * The schema is a parameter so this module needs nothing from lib/config.ts (no import cycle).
 */
export function validateConfig<S extends z.ZodType>(
  schema: S,
  doc: unknown,
  options: ValidateOptions<z.output<S>> = {},
): z.output<S> {
  const where = options.where ?? dotted;
  const issues = [...(options.earlier ?? [])];
  for (const u of findUnknownKeys(schema, doc)) {
    const hint = u.suggestion ? ` (did you mean "${u.suggestion}"?)` : '';
    issues.push(`${where(u.path)}: unknown setting "${String(u.path.at(-1))}"${hint}`);
  }
  const result = schema.safeParse(doc);
  if (!result.success) {
    issues.push(...result.error.issues.map((i) => `${where(i.path as ConfigPath)}: ${messageOf(i)}`));
    throw new ConfigError(issues);
  }
  const value = result.data as z.output<S>;
  if (options.deep) issues.push(...options.deep(value).map((p) => `${where(p.path)}: ${p.message}`));
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(value);
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
