import { UnsupportedMediaTypeError } from '../errors.js';

/** `Application/JSON; charset=utf-8` → `application/json`; absent → ''. */
export function mediaTypeOf(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * Refuses a body whose declared type is not one of `accepted` (415). An absent
 * Content-Type is allowed when `allowMissing`: OpenBao's http audit device sets none.
 */
export function requireMediaType(
  contentType: string | null | undefined,
  accepted: readonly string[],
  allowMissing: boolean,
): string {
  const type = mediaTypeOf(contentType);
  if (type === '' && allowMissing) return type;
  if (accepted.includes(type)) return type;
  throw new UnsupportedMediaTypeError(
    `content type '${type || '(none)'}' is not accepted here; send one of ${accepted.join(', ')}`,
  );
}
