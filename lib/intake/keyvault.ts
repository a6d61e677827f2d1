import type { App } from '../app-types.js';
import { describeError, explainError, RotorError, type ValidationError } from '../errors.js';
import type { Decoded } from '../events/decoded.js';
import { isRecord } from '../events/json.js';
import { safeDecodeKeyVaultDelivery } from '../events/keyvault-event.js';
import type { ParseResult } from '../events/result.js';
import type { Outcome } from '../outcome.js';
import { dispatch } from './dispatch.js';

/** What happened to one Event Grid trigger invocation (retryable faults are thrown instead). */
export type KeyVaultEventResult =
  | { status: 'processed'; outcome: Outcome }
  | { status: 'ignored'; reason: string }
  | { status: 'invalid'; error: ValidationError }
  | { status: 'failed'; error: RotorError };

export interface IntakeLog {
  warn(message: string): void;
  error(message: string): void;
}

/**
 * One Key Vault event, Event Grid or CloudEvents schema. Throws only what is worth a retry;
 * an invalid event or a permanent failure is logged and returned, because a thrown error
 * makes Event Grid redeliver the same event until it dead-letters it after 24 h.
 */
export function handleKeyVaultEvent(app: App, raw: unknown, log: IntakeLog): Promise<KeyVaultEventResult> {
  const decoded = safeDecodeKeyVaultDelivery(raw, {
    keyVaults: app.config.keyVaults,
    receivedAt: new Date(),
  });
  return handleDecodedKeyVaultEvent(app, raw, decoded, log);
}

/** The same, for an event the caller has decoded already (the Event Grid route, for its change keys). */
export async function handleDecodedKeyVaultEvent(
  app: App,
  raw: unknown,
  decoded: ParseResult<Decoded>,
  log: IntakeLog,
): Promise<KeyVaultEventResult> {
  if (!decoded.success) {
    const id = isRecord(raw) && typeof raw.id === 'string' ? raw.id : '(no id)';
    log.warn(`event ${id} is invalid and is acknowledged without processing: ${decoded.error.message}`);
    app.ignore({ id, reason: `invalid: ${decoded.error.message}` }, 'eventgrid');
    return { status: 'invalid', error: decoded.error };
  }
  if (decoded.data.type === 'ignored') {
    app.ignore(decoded.data.event, 'eventgrid');
    return { status: 'ignored', reason: decoded.data.event.reason };
  }
  try {
    const { outcomes } = await dispatch(app, [decoded.data], 'eventgrid');
    return { status: 'processed', outcome: outcomes[0]! };
  } catch (error) {
    if (!(error instanceof RotorError) || error.retryable) {
      // The sender retries on the thrown error; the log says why, down to the store's status.
      log.warn(`event ${decoded.data.event.id} refused, to be redelivered: ${explainError(error)}`);
      throw error;
    }
    log.error(`event ${decoded.data.event.id} failed permanently: ${describeError(error).message}`);
    return { status: 'failed', error };
  }
}
