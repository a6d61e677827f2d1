import { z } from 'zod';
import type { Config } from '../config.js';
import { ValidationError } from '../errors.js';
import { resolveRefInput } from '../ref-input.js';
import type { SecretRef } from '../secret-ref.js';
import { isRecord, parseJson } from './json.js';
import { zodIssues } from './result.js';

/**
 * Body of POST /api/rotate and /api/refresh: the secret as lib/ref-input.ts names it
 * (`{keyVault, name}` or `{vault, mount, path, namespace?}`), plus optional `dryRun` and
 * `requestId` (a retried request with the same id is done once).
 */
const OptionsSchema = z.object({
  dryRun: z.boolean().optional(),
  requestId: z.string().trim().min(1).max(200).optional(),
});

export interface ManualRequest {
  ref: SecretRef;
  dryRun?: boolean;
  requestId?: string;
}

export function parseManualRequest(text: string, config: Config): ManualRequest {
  const json = parseJson(text);
  if (!json.success) throw json.error;
  if (!isRecord(json.data)) throw new ValidationError('body must be a JSON object naming the secret');
  const { dryRun, requestId, ...target } = json.data;
  const options = OptionsSchema.safeParse({ dryRun, requestId });
  if (!options.success) throw new ValidationError('invalid request options', zodIssues(options.error.issues));
  return { ref: resolveRefInput(target, config), ...stripUndefined(options.data) };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
