import type { ResourceType } from './annotations.js';

/**
 * Reloader's variable name: `STAKATER_<NAME>_<TYPE>` (util.ConvertToEnvVarName). The name
 * is upper-cased, `[A-Z0-9]` kept, every run of other bytes becomes one `_`, and leading
 * invalid bytes are dropped (`my-app.config` → `MY_APP_CONFIG`, `-x-` → `X_`). Go walks
 * the bytes of the upper-cased string, so a non-ASCII letter counts as invalid bytes;
 * only ASCII is upper-cased here, which equals Go for every name Kubernetes accepts.
 */
export function convertToEnvVarName(text: string): string {
  let out = '';
  let lastValid = false;
  for (const byte of Buffer.from(text, 'utf8')) {
    const ch = byte >= 0x61 && byte <= 0x7a ? byte - 0x20 : byte;
    if ((ch >= 0x41 && ch <= 0x5a) || (ch >= 0x30 && ch <= 0x39)) {
      out += String.fromCharCode(ch);
      lastValid = true;
    } else {
      if (lastValid) out += '_';
      lastValid = false;
    }
  }
  return out;
}

export function envVarName(type: ResourceType, resourceName: string): string {
  return `STAKATER_${convertToEnvVarName(resourceName)}_${type}`;
}
