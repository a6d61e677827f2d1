import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';

/**
 * A rotation policy lives on the secret itself: Key Vault tags, or KV v2 custom_metadata
 * with the same keys. The three keys of the Azure rotation samples keep their meaning;
 * rotor's own keys are prefixed `rotor-`. Keys match case-insensitively. A secret
 * without a policy is never rotated. docs/rotation-policy.md is the user-facing version.
 */
export const TAGS = {
  /** Azure samples: days until the new version expires (default 60 there, config here). */
  validityPeriodDays: 'ValidityPeriodDays',
  /** Azure samples: the credential's id at the provider (login / role; the active one for dual). */
  credentialId: 'CredentialId',
  /** Azure samples: where the credential lives (here: a PostgreSQL URL or a configured server name). */
  providerAddress: 'ProviderAddress',
  generator: 'rotor-generator',
  generatorOptions: 'rotor-generator-options',
  periodDays: 'rotor-period-days',
  schedule: 'rotor-schedule',
  /** Written by rotor on each version it creates (Key Vault tag / KV v2 custom_metadata). */
  rotatedAt: 'rotor-rotated-at',
  /** `rollout`: verify the rotation by its consumers' rollouts and undo it when one fails. */
  verify: 'rotor-verify',
} as const;

export const CHAR_CLASSES = ['lower', 'upper', 'digit', 'symbol'] as const;
export type CharClass = (typeof CHAR_CLASSES)[number];

/** Symbols that survive URLs, shells and connection strings without quoting surprises: no quotes, backslash, space. */
export const DEFAULT_SYMBOLS = '!#%*+-.:=?@^_~';

const field = z.string().min(1).max(128).default('value');

export const PasswordOptionsSchema = z
  .object({
    length: z.coerce.number().int().min(8).max(1024).default(32),
    classes: z
      .array(z.enum(CHAR_CLASSES))
      .min(1)
      .default([...CHAR_CLASSES]),
    /** Characters never used, whatever the classes say. */
    exclude: z.string().default(''),
    symbols: z.string().min(1).default(DEFAULT_SYMBOLS),
  })
  .strict();

const PasswordGeneratorSchema = PasswordOptionsSchema.extend({ kind: z.literal('password'), field }).strict();

const BytesGeneratorSchema = z
  .object({
    kind: z.literal('bytes'),
    length: z.coerce.number().int().min(16).max(1024).default(32),
    encoding: z.enum(['base64', 'base64url', 'hex']).default('base64'),
    field,
  })
  .strict();

const PostgresGeneratorSchema = z
  .object({
    kind: z.literal('postgres'),
    mode: z.enum(['single', 'dual']).default('single'),
    /** Single mode: the role (defaults to CredentialId, then the stored username). */
    role: z.string().min(1).optional(),
    /** Dual mode: the two roles rotor alternates between, like the samples' key1/key2. */
    roles: z.tuple([z.string().min(1), z.string().min(1)]).optional(),
    usernameField: z.string().min(1).default('username'),
    passwordField: z.string().min(1).default('password'),
    password: PasswordOptionsSchema.default({
      length: 32,
      classes: ['lower', 'upper', 'digit'],
      exclude: '',
      symbols: DEFAULT_SYMBOLS,
    }),
  })
  .strict()
  .refine((g) => g.mode === 'single' || (g.roles !== undefined && g.roles[0] !== g.roles[1]), {
    message: 'dual mode needs "roles": two different role names',
  });

export const GeneratorSpecSchema = z.discriminatedUnion('kind', [
  PasswordGeneratorSchema,
  BytesGeneratorSchema,
  PostgresGeneratorSchema,
]);

export const GENERATOR_KINDS: readonly GeneratorSpec['kind'][] = ['password', 'bytes', 'postgres'];

export type PasswordOptions = z.output<typeof PasswordOptionsSchema>;
export type GeneratorSpec = z.output<typeof GeneratorSpecSchema>;
export type PostgresGeneratorSpec = Extract<GeneratorSpec, { kind: 'postgres' }>;

export interface RotationPolicy {
  generator: GeneratorSpec;
  validityDays: number;
  periodDays?: number;
  schedule?: string;
  credentialId?: string;
  providerAddress?: string;
  /** rotor-verify: follow every consumer's rollout; a failed one undoes the rotation where it can. */
  verify?: 'rollout';
}

export type PolicyResult =
  | { kind: 'none'; reason: string }
  | { kind: 'invalid'; issues: string[] }
  | { kind: 'policy'; policy: RotationPolicy };

const positiveDays = z.coerce.number().positive().max(36_500);

const cron = z.string().refine(
  (expr) => {
    try {
      CronExpressionParser.parse(expr, { tz: 'UTC' });
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid cron expression (5 or 6 fields, UTC)' },
);

const PROVIDER_SCHEMES = /^postgres(ql)?:\/\//i;

/** Reads a policy from tags / custom_metadata. `defaultValidityDays` applies when ValidityPeriodDays is absent. */
export function parsePolicy(
  metadata: Readonly<Record<string, string>>,
  defaultValidityDays: number,
): PolicyResult {
  const get = lookup(metadata);
  const generatorKind = get(TAGS.generator)?.trim();
  const providerAddress = get(TAGS.providerAddress)?.trim() || undefined;
  if (!generatorKind) {
    // The samples' tags alone name a provider rotor can rotate only when it is PostgreSQL;
    // other ProviderAddress values belong to their own rotation functions, so rotor keeps out.
    if (!providerAddress || !PROVIDER_SCHEMES.test(providerAddress))
      return { kind: 'none', reason: 'no rotor-generator tag' };
  }
  const issues: string[] = [];
  if (generatorKind && !GENERATOR_KINDS.includes(generatorKind as GeneratorSpec['kind'])) {
    return { kind: 'invalid', issues: [`${TAGS.generator}: must be one of ${GENERATOR_KINDS.join(', ')}`] };
  }
  const options = parseOptions(get(TAGS.generatorOptions), issues);
  const generator = GeneratorSpecSchema.safeParse({ ...options, kind: generatorKind || 'postgres' });
  if (!generator.success) issues.push(...formatIssues(TAGS.generatorOptions, generator.error));
  const validity = optional(positiveDays, get(TAGS.validityPeriodDays), TAGS.validityPeriodDays, issues);
  const periodDays = optional(positiveDays, get(TAGS.periodDays), TAGS.periodDays, issues);
  const schedule = optional(cron, get(TAGS.schedule), TAGS.schedule, issues);
  const verify = optional(z.enum(['rollout']), get(TAGS.verify)?.toLowerCase(), TAGS.verify, issues);
  if (generator.success) issues.push(...checkGenerator(generator.data));
  if (issues.length > 0 || !generator.success) return { kind: 'invalid', issues };
  const policy: RotationPolicy = { generator: generator.data, validityDays: validity ?? defaultValidityDays };
  if (periodDays !== undefined) policy.periodDays = periodDays;
  if (schedule !== undefined) policy.schedule = schedule;
  if (verify !== undefined) policy.verify = verify;
  const credentialId = get(TAGS.credentialId)?.trim();
  if (credentialId) policy.credentialId = credentialId;
  if (providerAddress) policy.providerAddress = providerAddress;
  return { kind: 'policy', policy };
}

/** Problems zod cannot see: a password whose classes are emptied by `exclude`. */
function checkGenerator(g: GeneratorSpec): string[] {
  const password = g.kind === 'password' ? g : g.kind === 'postgres' ? g.password : undefined;
  if (!password) return [];
  const issues: string[] = [];
  for (const cls of new Set(password.classes)) {
    if (alphabetOf(cls, password).length === 0)
      issues.push(`${TAGS.generatorOptions}: class ${cls} has no characters left after exclude`);
  }
  if (password.length < new Set(password.classes).size) {
    issues.push(`${TAGS.generatorOptions}: length ${password.length} is shorter than the number of classes`);
  }
  return issues;
}

const BASE_ALPHABETS: Record<Exclude<CharClass, 'symbol'>, string> = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digit: '0123456789',
};

/** The characters a class may use after exclusions, de-duplicated. */
export function alphabetOf(cls: CharClass, options: Pick<PasswordOptions, 'exclude' | 'symbols'>): string {
  const base = cls === 'symbol' ? options.symbols : BASE_ALPHABETS[cls];
  return [...new Set(base)].filter((c) => !options.exclude.includes(c)).join('');
}

function lookup(metadata: Readonly<Record<string, string>>): (key: string) => string | undefined {
  const lower = new Map(Object.entries(metadata).map(([k, v]) => [k.trim().toLowerCase(), v]));
  return (key) => lower.get(key.toLowerCase());
}

function parseOptions(raw: string | undefined, issues: string[]): Record<string, unknown> {
  if (raw === undefined || raw.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(raw);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  issues.push(`${TAGS.generatorOptions}: must be a JSON object`);
  return {};
}

function optional<T>(
  schema: z.ZodType<T>,
  raw: string | undefined,
  key: string,
  issues: string[],
): T | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const parsed = schema.safeParse(raw.trim());
  if (parsed.success) return parsed.data;
  issues.push(...formatIssues(key, parsed.error));
  return undefined;
}

function formatIssues(key: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${key}${i.path.length > 0 ? `.${i.path.join('.')}` : ''}: ${i.message}`);
}
