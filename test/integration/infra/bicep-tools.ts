/**
 * Offline views of infra/: the pycep-parser model of each Bicep file and checkov's report,
 * both produced by the pinned tools of pytools.ts. Shapes are validated at this edge.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { REPO_ROOT } from '../../env/paths.js';
import { type PyTools, run } from './pytools.js';

export const INFRA_DIR = path.join(REPO_ROOT, 'infra');
const PARSE_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'parse_bicep.py');

const ParamSchema = z.object({ type: z.string(), default: z.unknown().optional() }).passthrough();
const ResourceSchema = z.object({
  type: z.string(),
  api_version: z.string(),
  existing: z.boolean(),
  config: z.record(z.string(), z.unknown()),
});
const ModuleSchema = z
  .object({ detail: z.object({ path: z.string() }).passthrough(), config: z.record(z.string(), z.unknown()) })
  .passthrough();

export const BicepModelSchema = z.object({
  parameters: z.record(z.string(), ParamSchema).default({}),
  variables: z.record(z.string(), z.object({ value: z.unknown() }).passthrough()).default({}),
  resources: z.record(z.string(), ResourceSchema).default({}),
  modules: z.record(z.string(), ModuleSchema).default({}),
  outputs: z.record(z.string(), z.unknown()).default({}),
});
export type BicepModel = z.output<typeof BicepModelSchema>;
export type BicepResource = BicepModel['resources'][string];

const ParseResultSchema = z.record(
  z.string(),
  z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), json: z.unknown() }),
    z.object({ ok: z.literal(false), error: z.string() }),
  ]),
);

const CheckSchema = z
  .object({
    check_id: z.string(),
    check_name: z.string(),
    resource: z.string(),
    file_path: z.string(),
    check_result: z.object({ result: z.string(), suppress_comment: z.string().optional() }).passthrough(),
  })
  .passthrough();

export const CheckovReportSchema = z
  .object({
    check_type: z.literal('bicep'),
    results: z
      .object({
        passed_checks: z.array(CheckSchema),
        failed_checks: z.array(CheckSchema),
        skipped_checks: z.array(CheckSchema),
      })
      .passthrough(),
    summary: z
      .object({
        passed: z.number(),
        failed: z.number(),
        skipped: z.number(),
        parsing_errors: z.number(),
        resource_count: z.number(),
      })
      .passthrough(),
  })
  .passthrough();
export type CheckovReport = z.output<typeof CheckovReportSchema>;

/** Every .bicep file under infra/, repository-relative. */
export async function bicepFiles(): Promise<string[]> {
  const entries = await readdir(INFRA_DIR, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.bicep'))
    .map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)))
    .sort();
}

export interface ParseOutcome {
  models: Map<string, BicepModel>;
  errors: Map<string, string>;
}

/** Parses every file in one python process. */
export async function parseBicep(tools: PyTools, files: readonly string[]): Promise<ParseOutcome> {
  const res = await run(tools.python, [PARSE_SCRIPT, ...files], { cwd: REPO_ROOT });
  if (res.code !== 0) throw new Error(`parse_bicep.py exited ${res.code}: ${res.stderr.slice(-2000)}`);
  const parsed = ParseResultSchema.parse(JSON.parse(res.stdout));
  const models = new Map<string, BicepModel>();
  const errors = new Map<string, string>();
  for (const [file, result] of Object.entries(parsed)) {
    if (result.ok) models.set(file, BicepModelSchema.parse(result.json));
    else errors.set(file, result.error);
  }
  return { models, errors };
}

/** checkov over infra/ with the Bicep framework, fully offline (--skip-download). */
export async function runCheckov(tools: PyTools): Promise<CheckovReport> {
  const res = await run(
    tools.checkov,
    ['-d', INFRA_DIR, '--framework', 'bicep', '-o', 'json', '--skip-download', '--compact'],
    {
      cwd: REPO_ROOT,
      // No telemetry, no version lookups: the scan must pass with no network at all.
      env: { ...process.env, BC_API_KEY: '', CHECKOV_RUN_SCA_PACKAGE_SCAN_V2: 'false' },
      timeoutMs: 300_000,
    },
  );
  // checkov exits 1 when a check fails; the report says which. Anything else is a crash.
  if (res.code !== 0 && res.code !== 1)
    throw new Error(`checkov exited ${res.code}: ${res.stderr.slice(-2000)}`);
  const report: unknown = JSON.parse(res.stdout);
  return CheckovReportSchema.parse(
    Array.isArray(report) ? report.find((r) => r?.check_type === 'bicep') : report,
  );
}

/** A resource's own body, under any `if (...)` condition or `[for ...]` loop wrapper. */
export function body(resource: { config: Record<string, unknown> }): Record<string, unknown> {
  let node: Record<string, unknown> = resource.config;
  while (
    ('condition' in node || 'loop_type' in node) &&
    typeof node.config === 'object' &&
    node.config !== null
  ) {
    node = node.config as Record<string, unknown>;
  }
  return node;
}

/** The condition of an `if (...)` resource or module, if any. */
export function condition(resource: { config: Record<string, unknown> }): unknown {
  return resource.config.condition ?? null;
}

/** Reads a nested property by path (`properties.destination.endpointType`). */
export function at(node: unknown, dotted: string): unknown {
  let cur: unknown = node;
  for (const key of dotted.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Resources of one type in a model. */
export function resourcesOfType(model: BicepModel, type: string): [string, BicepResource][] {
  return Object.entries(model.resources).filter(([, r]) => r.type === type);
}

/** Names a parameter requires (declared with no default). */
export function requiredParams(model: BicepModel): string[] {
  return Object.entries(model.parameters)
    .filter(([, p]) => p.default === null || p.default === undefined)
    .map(([name]) => name);
}
